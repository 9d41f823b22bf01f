// In-batch noise mixup: what a mixed row received is a slice of the clean others-pool, segment
// counts and lengths, the augmentation rate, the no-op cases, determinism and input checks.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "mert/error.h"
#include "train/mixup.h"

namespace {

using mert::train::inbatch_noise_mixup;
using mert::train::MixupOptions;

// Row k holds (k + 1) * 1000 + i: every value names its row and sample (S < 1000).
at::Tensor labelled_rows(int64_t rows, int64_t S) {
  return (at::arange(rows, at::kFloat).unsqueeze(1) + 1) * 1000 + at::arange(S, at::kFloat).unsqueeze(0);
}

TEST(NoiseMixup, SingleSegmentIsASliceOfTheCleanOthersPool) {
  const int64_t rows = 4, S = 60;
  MixupOptions opts;
  opts.prob = 0.7;
  opts.min_len = 10;
  opts.max_len = 40;
  opts.max_segments = 1;
  const at::Tensor clean = labelled_rows(rows, S);
  int64_t mixed_rows = 0, straddling = 0;
  for (uint64_t step = 0; step < 200; ++step) {
    at::Tensor wave = clean.clone();
    const std::vector<bool> mixed = inbatch_noise_mixup(wave, 0, 3, step, opts);
    for (int64_t r = 0; r < rows; ++r) {
      const at::Tensor added = wave[r] - clean[r];
      const float* d = added.data_ptr<float>();
      if (!mixed[r]) {
        EXPECT_TRUE(wave[r].equal(clean[r])) << "step " << step << " row " << r;
        continue;
      }
      ++mixed_rows;
      // Pool values are >= 1000, so the segment is exactly the non-zero part of `added`.
      int64_t pos = 0;
      while (pos < S && d[pos] == 0) ++pos;
      int64_t len = 0;
      while (pos + len < S && d[pos + len] != 0) ++len;
      ASSERT_GE(len, opts.min_len) << "step " << step << " row " << r;
      ASSERT_LE(len, opts.max_len);
      for (int64_t i = pos + len; i < S; ++i) ASSERT_EQ(d[i], 0) << "a second segment in step " << step;
      // Where the first value sits in the pool (the other rows back to back, in row order)...
      const auto v = static_cast<int64_t>(d[pos]);
      const int64_t src_row = v / 1000 - 1, src_sample = v % 1000;
      ASSERT_NE(src_row, r) << "row " << r << " mixed with itself";
      const int64_t start = (src_row < r ? src_row : src_row - 1) * S + src_sample;
      ASSERT_LE(start, (rows - 1) * S - opts.max_len);
      // ...and the whole segment is the pool's clean values from there.
      for (int64_t i = 0; i < len; ++i) {
        const int64_t p = start + i, k = p / S;
        const int64_t row = k < r ? k : k + 1;
        ASSERT_EQ(d[pos + i], clean[row][p % S].item<float>()) << "step " << step << " row " << r << " i " << i;
      }
      straddling += start / S != (start + len - 1) / S;
    }
  }
  EXPECT_GT(mixed_rows, 400);
  EXPECT_GT(straddling, 20);  // segments crossing a clip boundary were exercised
}

TEST(NoiseMixup, SegmentCountAndGain) {
  // Row 0 is silent and the others are ones; fixed-length segments of 10 samples in a long clip:
  // row 0 receives exactly gain * 10 * (number of segments).
  const int64_t S = 5000;
  MixupOptions opts;
  opts.prob = 1;
  opts.min_len = opts.max_len = 10;
  opts.gain = 0.5;
  at::Tensor clean = at::ones({3, S});
  clean[0].zero_();
  std::vector<int64_t> histogram(5, 0);
  const int64_t steps = 900;
  for (uint64_t step = 0; step < steps; ++step) {
    at::Tensor wave = clean.clone();
    inbatch_noise_mixup(wave, 0, 8, step, opts);
    const double total = wave[0].sum().item<double>();
    const double segments = total / (opts.gain * 10);
    ASSERT_EQ(segments, std::round(segments)) << "step " << step;
    ASSERT_GE(segments, 1);
    ASSERT_LE(segments, 3);
    ++histogram[static_cast<size_t>(segments)];
  }
  const double sigma = std::sqrt(steps * (1.0 / 3) * (2.0 / 3));
  for (int k = 1; k <= 3; ++k) EXPECT_NEAR(histogram[k], steps / 3.0, 4 * sigma) << "segments " << k;
}

TEST(NoiseMixup, SegmentsLongerThanTheClipAreClipped) {
  MixupOptions opts;
  opts.prob = 1;
  opts.min_len = opts.max_len = 50;
  opts.max_segments = 1;
  at::Tensor wave = at::zeros({3, 30});
  wave[1].fill_(1);
  wave[2].fill_(1);
  inbatch_noise_mixup(wave, 0, 2, 0, opts);
  EXPECT_TRUE(wave[0].eq(1).all().item<bool>());  // the whole clip, once
}

TEST(NoiseMixup, AugmentedFractionMatchesProb) {
  const int64_t rows = 4, S = 64, steps = 1000;
  MixupOptions opts;
  opts.min_len = 4;
  opts.max_len = 8;
  const at::Tensor clean = labelled_rows(rows, S);
  for (double prob : {0.5, 0.2}) {
    opts.prob = prob;
    int64_t mixed_count = 0;
    for (uint64_t step = 0; step < steps; ++step) {
      at::Tensor wave = clean.clone();
      const std::vector<bool> mixed = inbatch_noise_mixup(wave, 8, 21, step, opts);
      for (int64_t r = 0; r < rows; ++r) {
        mixed_count += mixed[r];
        // Pool values are positive, so a mixed row always changes and an unmixed one never does.
        EXPECT_EQ(!wave[r].equal(clean[r]), mixed[r]) << "step " << step << " row " << r;
      }
    }
    const double n = rows * steps, sigma = std::sqrt(n * prob * (1 - prob));
    EXPECT_NEAR(mixed_count, n * prob, 4 * sigma) << "prob " << prob;
  }
}

TEST(NoiseMixup, NoOpCases) {
  MixupOptions opts;
  opts.min_len = 4;
  opts.max_len = 8;
  const at::Tensor clean = labelled_rows(3, 64);

  opts.prob = 0;
  at::Tensor wave = clean.clone();
  EXPECT_EQ(inbatch_noise_mixup(wave, 0, 1, 0, opts), std::vector<bool>(3, false));
  EXPECT_TRUE(wave.equal(clean));

  opts.prob = 1;
  wave = clean.clone();
  EXPECT_EQ(inbatch_noise_mixup(wave, 0, 1, 0, opts), std::vector<bool>(3, true));
  EXPECT_FALSE(wave.equal(clean));

  at::Tensor single = clean.slice(0, 0, 1).clone();  // no other clip to take noise from
  EXPECT_EQ(inbatch_noise_mixup(single, 0, 1, 0, opts), std::vector<bool>{false});
  EXPECT_TRUE(single.equal(clean.slice(0, 0, 1)));

  opts.max_len = 65;  // pool of one other 64-sample clip is too short
  at::Tensor pair = clean.slice(0, 0, 2).clone();
  EXPECT_EQ(inbatch_noise_mixup(pair, 0, 1, 0, opts), std::vector<bool>(2, false));
  EXPECT_TRUE(pair.equal(clean.slice(0, 0, 2)));
}

TEST(NoiseMixup, DeterministicPerKey) {
  MixupOptions opts;
  opts.prob = 1;
  opts.min_len = 4;
  opts.max_len = 8;
  const at::Tensor clean = labelled_rows(3, 64);
  at::Tensor a = clean.clone(), b = clean.clone(), other_step = clean.clone(), other_rows = clean.clone();
  inbatch_noise_mixup(a, 0, 5, 10, opts);
  inbatch_noise_mixup(b, 0, 5, 10, opts);
  inbatch_noise_mixup(other_step, 0, 5, 11, opts);
  inbatch_noise_mixup(other_rows, 3, 5, 10, opts);  // global rows 3..5 draw differently
  EXPECT_TRUE(a.equal(b));
  EXPECT_FALSE(a.equal(other_step));
  EXPECT_FALSE(a.equal(other_rows));
}

TEST(NoiseMixup, RejectsBadInput) {
  MixupOptions opts;
  opts.min_len = 4;
  opts.max_len = 8;
  at::Tensor flat = at::zeros({64});
  EXPECT_THROW(inbatch_noise_mixup(flat, 0, 1, 0, opts), mert::Error);
  at::Tensor doubles = at::zeros({2, 64}, at::kDouble);
  EXPECT_THROW(inbatch_noise_mixup(doubles, 0, 1, 0, opts), mert::Error);
  at::Tensor strided = at::zeros({64, 2}).t();
  EXPECT_THROW(inbatch_noise_mixup(strided, 0, 1, 0, opts), mert::Error);
  at::Tensor ok = at::zeros({2, 64});
  opts.max_len = 3;  // below min_len
  EXPECT_THROW(inbatch_noise_mixup(ok, 0, 1, 0, opts), mert::Error);
}

}  // namespace
