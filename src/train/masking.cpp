#include "train/masking.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "mert/error.h"
#include "train/train_rng.h"

namespace mert::train {
namespace {

// The largest double below 1: the top of KeyedRng::uniform()'s range.
constexpr double kMaxUniform = 1.0 - 0x1.0p-53;

// n distinct values of `values`, chosen uniformly (partial Fisher-Yates); reorders `values`.
std::vector<int64_t> choose_distinct(KeyedRng& rng, std::vector<int64_t> values, int64_t n) {
  const auto m = static_cast<int64_t>(values.size());
  for (int64_t i = 0; i < n; ++i) std::swap(values[i], values[i + rng.below(m - i)]);
  values.resize(n);
  return values;
}

// fairseq num_mask_ver 2: int(prob*T/len + u), at least min_masks.
int64_t span_count(double expected, double u, int64_t min_masks) {
  return std::max(min_masks, static_cast<int64_t>(expected + u));
}

// Where starts are drawn from: [0, T - len), or, when that holds no more than n positions,
// fairseq's fallback [0, n + 1) (its min_len = T - n - 1); spans then run past T and are clipped.
int64_t start_positions(int64_t T, int64_t length, int64_t n) {
  return T - length <= n ? n + 1 : T - length;
}

}  // namespace

at::Tensor compute_span_mask(int64_t batch, int64_t T, uint64_t seed, uint64_t step, const MaskOptions& opts) {
  if (batch < 0 || T < 1)
    throw Error("span mask: need batch >= 0 and T >= 1 frames, got batch " + std::to_string(batch) + ", T " +
                std::to_string(T));
  if (opts.length < 1 || opts.min_masks < 0 || !(opts.prob >= 0 && opts.prob <= 1))
    throw Error("span mask: need length >= 1, min_masks >= 0 and prob in [0, 1], got length " +
                std::to_string(opts.length) + ", min_masks " + std::to_string(opts.min_masks) + ", prob " +
                std::to_string(opts.prob));
  const double expected = opts.prob * static_cast<double>(T) / static_cast<double>(opts.length);
  // Checked with the largest span count any draw can give, so a too-short T fails on every step
  // rather than on the unlucky ones. fairseq's min_len = T - n - 1 must stay >= 1.
  const int64_t max_spans = span_count(expected, kMaxUniform, opts.min_masks);
  if (max_spans > 0 && T - opts.length <= max_spans && T - max_spans - 1 < 1)
    throw Error("span mask: T frames too short to mask: T = " + std::to_string(T) + " cannot hold " +
                std::to_string(max_spans) + " spans of " + std::to_string(opts.length) + " frames");

  at::Tensor mask = at::zeros({batch, T}, at::kBool);
  bool* m = mask.data_ptr<bool>();
  std::vector<int64_t> counts(batch, 0);
  for (int64_t b = 0; b < batch; ++b) {
    KeyedRng rng(seed, RngPurpose::Mask, step, static_cast<uint64_t>(b));
    const int64_t n = span_count(expected, rng.uniform(), opts.min_masks);
    std::vector<int64_t> positions(start_positions(T, opts.length, n));
    std::iota(positions.begin(), positions.end(), 0);
    bool* row = m + b * T;
    for (int64_t start : choose_distinct(rng, std::move(positions), n))
      std::fill(row + start, row + std::min(start + opts.length, T), true);
    counts[b] = std::count(row, row + T, true);
  }
  if (!opts.same_count || batch == 0) return mask;

  // require_same_masks: keep a uniformly random subset of each row's masked frames.
  const int64_t keep = *std::min_element(counts.begin(), counts.end());
  for (int64_t b = 0; b < batch; ++b) {
    if (counts[b] == keep) continue;
    bool* row = m + b * T;
    std::vector<int64_t> masked;
    for (int64_t t = 0; t < T; ++t)
      if (row[t]) masked.push_back(t);
    KeyedRng rng(seed, RngPurpose::MaskSubset, step, static_cast<uint64_t>(b));
    std::fill(row, row + T, false);
    for (int64_t t : choose_distinct(rng, std::move(masked), keep)) row[t] = true;
  }
  return mask;
}

}  // namespace mert::train
