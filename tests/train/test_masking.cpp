// Span masking: the masked fraction against the exact expectation of fairseq's sampling scheme,
// the batch-wide same-count down-sampling, span shapes, min_masks, determinism and errors.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "mert/error.h"
#include "train/masking.h"

namespace {

using mert::train::compute_span_mask;
using mert::train::MaskOptions;

// P(frame t is masked) when n distinct starts are drawn from [0, M) and each masks `length`
// frames: 1 - C(M - c_t, n) / C(M, n), c_t = number of starts whose span covers t.
std::vector<double> exact_frame_rates(int64_t T, int64_t length, int64_t M, int64_t n) {
  std::vector<double> rate(T);
  for (int64_t t = 0; t < T; ++t) {
    const int64_t covering = std::min(t, M - 1) - std::max<int64_t>(0, t - length + 1) + 1;
    double unmasked = 1;
    for (int64_t i = 0; i < n; ++i) unmasked *= static_cast<double>(M - std::max<int64_t>(covering, 0) - i) / (M - i);
    rate[t] = 1 - std::max(unmasked, 0.0);
  }
  return rate;
}

std::vector<int64_t> row_counts(const at::Tensor& mask) {
  const at::Tensor c = mask.sum(1);
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

TEST(SpanMask, MaskedFractionMatchesExactExpectation) {
  const int64_t T = 374, steps = 2000;
  MaskOptions opts;  // prob 0.8, length 5, min_masks 2
  opts.same_count = false;
  // n = int(x + u): floor(x) + 1 with probability frac(x), else floor(x); here T - len > n.
  const double x = opts.prob * T / opts.length;
  const auto n_lo = static_cast<int64_t>(std::floor(x));
  const double p_hi = x - std::floor(x);
  const int64_t M = T - opts.length;
  const auto lo = exact_frame_rates(T, opts.length, M, n_lo), hi = exact_frame_rates(T, opts.length, M, n_lo + 1);
  std::vector<double> expected(T);
  double expected_mean = 0;
  for (int64_t t = 0; t < T; ++t) {
    expected[t] = (1 - p_hi) * lo[t] + p_hi * hi[t];
    expected_mean += expected[t] / T;
  }

  std::vector<double> hits(T, 0);
  double mean = 0;
  for (int64_t step = 0; step < steps; ++step) {
    const at::Tensor m = compute_span_mask(1, T, 1337, step, opts);
    const bool* p = m.data_ptr<bool>();
    for (int64_t t = 0; t < T; ++t) hits[t] += p[t];
    mean += m.sum().item<int64_t>() / static_cast<double>(T * steps);
  }
  std::printf("[ measured ] batch 1, T=374: mean masked fraction %.4f, exact expectation %.4f\n", mean,
              expected_mean);
  EXPECT_NEAR(mean, expected_mean, 0.005);
  // Coverage profile: the edges (covered by fewer starts) and the middle, each within 4 sigma.
  for (int64_t t : {int64_t{0}, int64_t{1}, int64_t{3}, T / 2, M - 1, M, T - 1}) {
    const double p = expected[t], sigma = std::sqrt(p * (1 - p) / steps);
    EXPECT_NEAR(hits[t] / steps, p, 4 * sigma) << "frame " << t;
  }
  // As in fairseq, starts stop at T - len - 1, so the last frame is never masked.
  EXPECT_EQ(expected[T - 1], 0.0);
}

TEST(SpanMask, BatchMeanFractionIsReported) {
  // Not a spec value to match exactly (the spec's ~58% is a simulation); a sanity range.
  const int64_t T = 374, batch = 4, steps = 500;
  double mean = 0, lowest = 1, highest = 0;
  for (int64_t step = 0; step < steps; ++step) {
    const at::Tensor m = compute_span_mask(batch, T, 7, step, MaskOptions{});
    const double f = m.to(at::kDouble).mean().item<double>();
    mean += f / steps;
    lowest = std::min(lowest, f);
    highest = std::max(highest, f);
  }
  std::printf("[ measured ] batch 4, T=374, same_count: mean masked fraction %.4f (range %.4f-%.4f)\n", mean,
              lowest, highest);
  EXPECT_GT(mean, 0.45);
  EXPECT_LT(mean, 0.60);
}

TEST(SpanMask, SameCountDownSamplesToBatchMinimumWithinEachRow) {
  const int64_t T = 374, batch = 8;
  MaskOptions free_opts;
  free_opts.same_count = false;
  int64_t rows_down_sampled = 0;
  for (uint64_t step = 0; step < 20; ++step) {
    const at::Tensor full = compute_span_mask(batch, T, 99, step, free_opts);
    const at::Tensor same = compute_span_mask(batch, T, 99, step, MaskOptions{});
    ASSERT_EQ(same.sizes(), (at::IntArrayRef{batch, T}));
    ASSERT_EQ(same.scalar_type(), at::kBool);
    const auto before = row_counts(full), after = row_counts(same);
    const int64_t minimum = *std::min_element(before.begin(), before.end());
    for (int64_t b = 0; b < batch; ++b) {
      EXPECT_EQ(after[b], minimum) << "step " << step << " row " << b;
      // Only frames the row's own spans masked survive.
      EXPECT_FALSE(same[b].logical_and(full[b].logical_not()).any().item<bool>()) << "step " << step << " row " << b;
      rows_down_sampled += before[b] > minimum;
    }
  }
  EXPECT_GT(rows_down_sampled, 20);  // the property above was actually exercised
}

TEST(SpanMask, RunsAreAtLeastOneSpanLongAndMinMasksHolds) {
  MaskOptions opts;
  opts.same_count = false;
  for (uint64_t step = 0; step < 300; ++step) {
    const at::Tensor m = compute_span_mask(1, 374, 5, step, opts);
    const bool* p = m.data_ptr<bool>();
    for (int64_t t = 0, run = 0; t <= 374; ++t) {
      if (t < 374 && p[t]) {
        ++run;
      } else {
        if (run > 0) EXPECT_GE(run, opts.length) << "step " << step << " run ending at " << t;
        run = 0;
      }
    }
  }
  // prob*T/len = 0.8 < 1: the draw gives 0 or 1 spans, min_masks raises it. Two spans with
  // distinct starts cover at least len + 1 frames, three at least len + 2.
  opts.prob = 0.2;
  for (int64_t min_masks : {2, 3}) {
    opts.min_masks = min_masks;
    for (uint64_t step = 0; step < 300; ++step) {
      const int64_t count = compute_span_mask(1, 20, 5, step, opts).sum().item<int64_t>();
      EXPECT_GE(count, opts.length + min_masks - 1) << "min_masks " << min_masks << " step " << step;
      EXPECT_LE(count, opts.length * min_masks) << "min_masks " << min_masks << " step " << step;
    }
  }
}

TEST(SpanMask, ShortClipUsesFairseqFallbackStarts) {
  // T - len = 3 <= n = 3 spans: starts come from [0, n + 1) = [0, 4) instead of [0, 3) (which
  // would always give starts {0, 1, 2}); spans past T are clipped. Any 3 of the 4 starts mask
  // frames 1..6; frame 7 only with start 3, frame 0 only with start 0.
  MaskOptions opts;
  opts.min_masks = 3;
  opts.same_count = false;
  int64_t last_masked = 0, first_clear = 0;
  for (uint64_t step = 0; step < 100; ++step) {
    const at::Tensor m = compute_span_mask(1, 8, 5, step, opts);
    EXPECT_TRUE(m.slice(1, 1, 7).all().item<bool>()) << "step " << step;
    last_masked += m[0][7].item<bool>();
    first_clear += !m[0][0].item<bool>();
  }
  EXPECT_GT(last_masked, 50);  // 3/4 expected
  EXPECT_GT(first_clear, 10);  // 1/4 expected
}

TEST(SpanMask, DeterministicPerKeyAndRowsIndependentOfBatchSize) {
  const at::Tensor a = compute_span_mask(4, 374, 11, 3, MaskOptions{});
  EXPECT_TRUE(a.equal(compute_span_mask(4, 374, 11, 3, MaskOptions{})));
  EXPECT_FALSE(a.equal(compute_span_mask(4, 374, 11, 4, MaskOptions{})));
  EXPECT_FALSE(a.equal(compute_span_mask(4, 374, 12, 3, MaskOptions{})));

  MaskOptions opts;
  opts.same_count = false;
  const at::Tensor four = compute_span_mask(4, 374, 11, 3, opts);
  const at::Tensor eight = compute_span_mask(8, 374, 11, 3, opts);
  EXPECT_TRUE(four.equal(eight.slice(0, 0, 4)));
  EXPECT_FALSE(eight[0].equal(eight[1]));  // rows draw from their own streams
}

TEST(SpanMask, RejectsClipsTooShortAndBadOptions) {
  EXPECT_THROW(compute_span_mask(2, 3, 1, 0, MaskOptions{}), mert::Error);  // 2 spans need T >= 4
  EXPECT_NO_THROW(compute_span_mask(2, 4, 1, 0, MaskOptions{}));
  EXPECT_THROW(compute_span_mask(-1, 374, 1, 0, MaskOptions{}), mert::Error);
  MaskOptions bad;
  bad.length = 0;
  EXPECT_THROW(compute_span_mask(2, 374, 1, 0, bad), mert::Error);
  bad = MaskOptions{};
  bad.prob = 1.5;
  EXPECT_THROW(compute_span_mask(2, 374, 1, 0, bad), mert::Error);
}

}  // namespace
