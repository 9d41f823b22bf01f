#pragma once
// In-batch noise mixup (MERT spec section 4): a clip chosen for augmentation gets 1..max_segments
// segments of the *other* clips of the batch added to it. The pool is the other clips concatenated
// (segments may straddle clip boundaries); segment length ~ U[min_len, max_len] samples, start in
// the pool ~ U[0, |pool| - max_len], insert position ~ U[0, S - len]; plain addition times `gain`.
//
// `prob` is the probability that a clip IS augmented. (MERT's fairseq code augments when
// rand() > mixture_prob, so its mixture_prob 0.5 means the same 0.5; for other values ours is
// 1 - theirs.) Targets are unaffected: labels and the CQT target come from the clean audio.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace mert::train {

struct MixupOptions {
  double prob = 0.5;
  int64_t min_len = 12000;   // 0.5 s at 24 kHz (95M); 330M uses max_len 36000
  int64_t max_len = 24000;
  int64_t max_segments = 3;  // segments per augmented clip ~ U[1, max_segments]
  double gain = 1.0;
};

// wave: [b, S] float, modified in place (a rank's local rows). Row r is global row
// first_row + r of step `step`; its draws come from KeyedRng(seed, Mixup, step, first_row + r).
// The noise pool is built from the clean rows (copied before any row is modified), so the result
// does not depend on row order. A batch of one row, or a pool shorter than max_len, leaves every
// row clean (as the original, whose exception handler does that). Returns which rows were mixed.
std::vector<bool> inbatch_noise_mixup(at::Tensor& wave, int64_t first_row, uint64_t seed, uint64_t step,
                                      const MixupOptions& opts);

}  // namespace mert::train
