#pragma once
// Greedy k-means++ seeding (Arthur & Vassilvitskii; the variant scikit-learn uses): the first
// centre is a uniformly drawn row; each further centre is the best of 2 + floor(ln k) candidates
// drawn with probability proportional to the squared distance to the nearest chosen centre, "best"
// meaning the one that leaves the smallest potential (sum of those squared distances).
#include <cstdint>
#include <vector>

#include "teachers/kmeans_pool.h"
#include "teachers/kmeans_rng.h"

namespace mert::kmeans_detail {

// xc: [n, dim] rows centred on (about) their mean, so the expanded distance
// ||x||^2 - 2 x.c + ||c||^2 loses little to cancellation; xnorm2[n] = ||xc_i||^2. Returns the k
// chosen row indices. Requires 1 <= k <= n. Deterministic for a given rng state, independent of
// the pool size. Working memory: n * (2 + ln k) floats.
std::vector<int64_t> kmeans_plusplus(const float* xc, int64_t n, int64_t dim, const float* xnorm2,
                                     int64_t k, Rng& rng, Pool& pool);

}  // namespace mert::kmeans_detail
