#pragma once
// The project's one random number generator and one non-cryptographic hash. Every seeded result
// (k-means centroids, synthetic items, pre-training crops and masks) must be the same on every
// platform and standard library, and std::uniform_*_distribution are implementation-defined:
// so xoshiro256** seeded through splitmix64, with our own uniform and bounded draws. FNV-1a 64
// serves fingerprints and shard assignment. Each user keeps its own seeding rule (kmeans_rng.h,
// train_rng.h, synth/rng.h), which fixes its streams.
#include <cstddef>
#include <cstdint>
#include <string>

namespace mert::util {

inline uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// xoshiro256** whose four state words are splitmix64 draws starting from `x`.
class Xoshiro256 {
 public:
  explicit Xoshiro256(uint64_t x) {
    for (auto& v : s_) v = splitmix64(x);
  }

  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, 1), 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  // Uniform integer in [0, n), n >= 1, unbiased (Lemire's multiply-shift with rejection).
  int64_t below(int64_t n) {
    const uint64_t range = static_cast<uint64_t>(n);
    unsigned __int128 m = static_cast<unsigned __int128>(next()) * range;
    uint64_t low = static_cast<uint64_t>(m);
    if (low < range) {
      const uint64_t threshold = (0 - range) % range;
      while (low < threshold) {
        m = static_cast<unsigned __int128>(next()) * range;
        low = static_cast<uint64_t>(m);
      }
    }
    return static_cast<int64_t>(m >> 64);
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

// FNV-1a, 64 bit, fed in pieces.
class Fnv1a64 {
 public:
  void update(const void* data, size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) h_ = (h_ ^ p[i]) * 1099511628211ULL;
  }
  void update(const std::string& s) { update(s.data(), s.size()); }
  uint64_t value() const { return h_; }

 private:
  uint64_t h_ = 1469598103934665603ULL;
};

inline uint64_t fnv1a64(const std::string& s) {
  Fnv1a64 h;
  h.update(s);
  return h.value();
}

}  // namespace mert::util
