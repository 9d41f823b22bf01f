#pragma once
// Random numbers for pre-training addressed by what they are for: (seed, purpose, step, item).
// Every draw is a pure function of that key, so all ranks agree on shared draws (the masks),
// a resumed run draws exactly what the uninterrupted run drew, and nothing needs checkpointing.
#include <cstdint>

#include "util/random.h"

namespace mert::train {

enum class RngPurpose : uint64_t {
  EpochOrder = 1,  // the shuffled order of the corpus in one epoch (step = epoch)
  Crop = 2,        // where each clip is cropped
  Mask = 3,        // span masking
  Mixup = 4,       // in-batch noise mixup
  MaskSubset = 5,  // masking: down-sampling every row to the batch's smallest masked count
  Dropout = 6,     // the seed of the torch generator for dropout/LayerDrop (item = rank)
};

class KeyedRng {
 public:
  KeyedRng(uint64_t seed, RngPurpose purpose, uint64_t step, uint64_t item)
      // The xor keeps the streams of the k-means seeding this generator first used.
      : rng_(mix(seed, static_cast<uint64_t>(purpose), step, item) ^ 0x9E3779B97F4A7C15ULL) {}

  uint64_t next() { return rng_.next(); }
  double uniform() { return rng_.uniform(); }                 // [0, 1)
  int64_t below(int64_t n) { return rng_.below(n); }          // [0, n), n >= 1
  int64_t between(int64_t lo, int64_t hi) { return lo + rng_.below(hi - lo + 1); }  // [lo, hi]

 private:
  static uint64_t mix(uint64_t seed, uint64_t purpose, uint64_t step, uint64_t item) {
    uint64_t x = seed;
    uint64_t h = util::splitmix64(x);
    for (uint64_t v : {purpose, step, item}) {
      x = h ^ (v * 0x9E3779B97F4A7C15ULL);
      h = util::splitmix64(x);
    }
    return h;
  }
  util::Xoshiro256 rng_;
};

}  // namespace mert::train
