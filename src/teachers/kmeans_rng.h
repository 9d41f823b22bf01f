#pragma once
// The random numbers of k-means (util/random.h's generator), so a seed gives the same centroids
// on every platform and standard library.
#include <cstdint>

#include "util/random.h"

namespace mert::kmeans_detail {

class Rng : public util::Xoshiro256 {
 public:
  // `stream` separates independent sequences drawn from one user seed (e.g. one per restart).
  explicit Rng(uint64_t seed, uint64_t stream = 0) : Xoshiro256(seed ^ (0x9E3779B97F4A7C15ULL * (stream + 1))) {}
};

}  // namespace mert::kmeans_detail
