#pragma once
// Span masking for pre-training, as fairseq's `compute_mask_indices` with MERT's settings
// (static span lengths, overlaps allowed, require_same_masks): per row, n = int(prob*T/len + u)
// spans (u ~ U[0,1), n >= min_masks), distinct starts drawn uniformly from [0, T - len), each
// masking `len` frames; then every row is down-sampled to the smallest masked count of the batch.
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace mert::train {

struct MaskOptions {
  double prob = 0.8;       // fairseq mask_prob
  int64_t length = 5;      // fairseq mask_length (frames per span)
  int64_t min_masks = 2;   // fairseq mask_min_masks... (min_masks)
  bool same_count = true;  // fairseq require_same_masks
};

// Masks for the whole (global) batch of `batch` rows of T frames at training step `step`:
// [batch, T] bool on the CPU. Row b's draws come from KeyedRng(seed, Mask, step, b) and the
// down-sampling from KeyedRng(seed, MaskSubset, step, b), so every rank computes the same masks
// and takes its own rows. Throws mert::Error when T is too short to hold one span.
at::Tensor compute_span_mask(int64_t batch, int64_t T, uint64_t seed, uint64_t step, const MaskOptions& opts);

}  // namespace mert::train
