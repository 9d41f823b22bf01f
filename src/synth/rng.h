#pragma once
// Deterministic random numbers for the synthetic benchmark. std::uniform_*_distribution is
// implementation-defined, so draws are done here by hand: the same (seed, task, index) gives the
// same item on every platform and whatever the number of worker threads.
#include <cstdint>
#include <string>
#include <vector>

namespace mert::synth {

inline uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

inline uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// xoshiro256** seeded through splitmix64.
class Rng {
 public:
  Rng(uint64_t seed, const std::string& stream, uint64_t index) {
    uint64_t x = seed ^ (fnv1a(stream) * 0x2545F4914F6CDD1Dull) ^ (index * 0x9E3779B97F4A7C15ull + 0x1234567ull);
    for (auto& v : s_) v = splitmix64(x);
  }
  uint64_t next() {
    const uint64_t r = rotl(s_[1] * 5, 7) * 9, t = s_[1] << 17;
    s_[2] ^= s_[0]; s_[3] ^= s_[1]; s_[1] ^= s_[2]; s_[0] ^= s_[3]; s_[2] ^= t; s_[3] = rotl(s_[3], 45);
    return r;
  }
  double uniform() { return (next() >> 11) * 0x1.0p-53; }                 // [0, 1)
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

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace mert::synth
