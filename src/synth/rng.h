#pragma once
// Deterministic random numbers for the synthetic benchmark. std::uniform_*_distribution is
// implementation-defined, so draws are done here by hand: the same (seed, task, index) gives the
// same item on every platform and whatever the number of worker threads.
#include <cstdint>
#include <string>
#include <vector>

#include "util/random.h"

namespace mert::synth {

// xoshiro256** seeded through splitmix64.
class Rng : public util::Xoshiro256 {
 public:
  Rng(uint64_t seed, const std::string& stream, uint64_t index)
      : Xoshiro256(seed ^ (util::fnv1a64(stream) * 0x2545F4914F6CDD1Dull) ^ (index * 0x9E3779B97F4A7C15ull + 0x1234567ull)) {}
  using Xoshiro256::uniform;                                               // [0, 1)
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  int integer(int lo, int hi) { return lo + static_cast<int>((next() >> 11) % static_cast<uint64_t>(hi - lo + 1)); }  // [lo, hi]
  bool chance(double p) { return uniform() < p; }
  template <class T> const T& pick(const std::vector<T>& v) { return v[static_cast<size_t>(integer(0, (int)v.size() - 1))]; }
  // Index drawn with the given non-negative weights.
  int weighted(const std::vector<double>& w) {
    double sum = 0;
    for (double x : w) sum += x;
    double u = uniform() * sum;
    for (size_t i = 0; i < w.size(); ++i) {
      if (u < w[i]) return (int)i;
      u -= w[i];
    }
    return (int)w.size() - 1;
  }
};

}  // namespace mert::synth
