// Kaldi-compatible MFCC teacher: snip-edges framing, a brute-force reference for the cepstra,
// silence (epsilon floor), deltas on an exactly linear cepstral trajectory, validation.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "mert/error.h"
#include "mert/mfcc.h"
#include "teachers/mel_filterbank.h"

namespace {

using mert::FeatureMatrix;
using mert::Mfcc;
using mert::MfccConfig;

std::vector<float> noise(int64_t n, uint32_t seed, float sd = 0.3f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, sd);
  std::vector<float> x(static_cast<size_t>(n));
  for (auto& v : x) v = dist(rng);
  return x;
}

// Brute-force Kaldi MFCC of frame j (no deltas), everything in double with a direct DFT.
std::vector<double> reference_ceps(const MfccConfig& c, const std::vector<float>& x, int64_t j) {
  const int64_t W = static_cast<int64_t>(c.sample_rate * c.frame_length_ms * 0.001);
  const int64_t S = static_cast<int64_t>(c.sample_rate * c.frame_shift_ms * 0.001);
  int64_t P = 1;
  while (P < W) P *= 2;
  std::vector<double> f(static_cast<size_t>(W));
  double mean = 0;
  for (int64_t i = 0; i < W; ++i) mean += (f[i] = x[j * S + i]);
  mean /= W;
  if (c.remove_dc_offset)
    for (auto& v : f) v -= mean;
  std::vector<double> g(f);
  for (int64_t i = 0; i < W; ++i) g[i] = f[i] - c.preemphasis * f[i > 0 ? i - 1 : 0];
  for (int64_t i = 0; i < W; ++i) g[i] *= std::pow(0.5 - 0.5 * std::cos(2 * M_PI * i / double(W - 1)), 0.85);
  const int64_t nb = P / 2;  // the Nyquist bin has no mel weight
  std::vector<double> power(static_cast<size_t>(nb));
  for (int64_t k = 0; k < nb; ++k) {
    double re = 0, im = 0;
    for (int64_t i = 0; i < W; ++i) {
      const double a = 2 * M_PI * double((k * i) % P) / double(P);
      re += g[i] * std::cos(a);
      im -= g[i] * std::sin(a);
    }
    power[k] = re * re + im * im;
  }
  auto mel = [](double hz) { return 1127.0 * std::log(1.0 + hz / 700.0); };
  const double nyq = c.sample_rate / 2;
  const double high = c.high_freq <= 0 ? c.high_freq + nyq : c.high_freq;
  const double ml = mel(c.low_freq), mh = mel(high);
  const int64_t M = c.num_mel_bins;
  const double d = (mh - ml) / (M + 1);
  std::vector<double> logmel(static_cast<size_t>(M));
  for (int64_t b = 0; b < M; ++b) {
    const double l = ml + b * d, ce = ml + (b + 1) * d, r = ml + (b + 2) * d;
    double acc = 0;
    for (int64_t k = 0; k < nb; ++k) {
      const double m = mel(c.sample_rate / P * k);
      acc += std::max(0.0, std::min((m - l) / (ce - l), (r - m) / (r - ce))) * power[k];
    }
    logmel[b] = std::log(std::max(acc, double(std::numeric_limits<float>::epsilon())));
  }
  std::vector<double> ceps(static_cast<size_t>(c.num_ceps));
  for (int64_t k = 0; k < c.num_ceps; ++k) {
    double acc = 0;
    for (int64_t b = 0; b < M; ++b)
      acc += logmel[b] * (k == 0 ? std::sqrt(1.0 / M) : std::sqrt(2.0 / M) * std::cos(M_PI / M * (b + 0.5) * k));
    ceps[k] = acc * (1 + 0.5 * c.cepstral_lifter * std::sin(M_PI * k / c.cepstral_lifter));
  }
  return ceps;
}

TEST(Mfcc, FrameCountsAtBoundaries) {
  Mfcc m(MfccConfig{});  // 24 kHz: window 600, shift 240, FFT 1024
  EXPECT_EQ(m.dim(), 39);
  const std::vector<std::pair<int64_t, int64_t>> cases = {
      {0, 0}, {1, 0}, {240, 0}, {599, 0}, {600, 1}, {601, 1}, {839, 1}, {840, 2}, {841, 2},
      {600 + 240 * 7 - 1, 7}, {600 + 240 * 7, 8}, {24000, 98}, {48000, 198}};
  for (auto [s, frames] : cases) {
    EXPECT_EQ(m.num_frames(s), frames) << "S=" << s;
    const std::vector<float> x = noise(s, 4);
    const FeatureMatrix f = m.compute(x.data(), s);
    EXPECT_EQ(f.rows, frames) << "S=" << s;
    EXPECT_EQ(f.cols, 39);
    for (float v : f.data) ASSERT_TRUE(std::isfinite(v)) << "S=" << s;
  }
  EXPECT_EQ(m.compute(nullptr, 0).rows, 0);
  EXPECT_THROW(m.num_frames(-5), mert::Error);
  EXPECT_DOUBLE_EQ(m.frame_center(0), 300.0);
  EXPECT_DOUBLE_EQ(m.frame_center(3), 3 * 240.0 + 300.0);
}

TEST(Mfcc, WindowSizesFollowKaldiTruncation) {
  MfccConfig c;
  c.sample_rate = 16000;  // 400 / 160 samples, FFT 512
  Mfcc m16(c);
  EXPECT_EQ(m16.num_frames(399), 0);
  EXPECT_EQ(m16.num_frames(400), 1);
  EXPECT_EQ(m16.num_frames(560), 2);
  c.sample_rate = 22050;  // int(551.25) = 551, int(220.5) = 220
  Mfcc m22(c);
  EXPECT_EQ(m22.num_frames(550), 0);
  EXPECT_EQ(m22.num_frames(551), 1);
  EXPECT_EQ(m22.num_frames(551 + 220), 2);
  EXPECT_DOUBLE_EQ(m22.frame_center(1), 220 + 551 / 2.0);
}

TEST(Mfcc, MatchesBruteForceDefinition) {
  for (double sr : {24000.0, 16000.0}) {
    MfccConfig c;
    c.sample_rate = sr;
    std::vector<float> x = noise(int64_t(sr / 5), 17);
    for (size_t i = 0; i < x.size(); ++i) x[i] = x[i] * float(0.2 + i / double(x.size())) + 0.05f;  // DC + swell
    Mfcc m(c);
    const FeatureMatrix f = m.compute(x.data(), static_cast<int64_t>(x.size()));
    ASSERT_GT(f.rows, 5);
    for (int64_t j : {int64_t{0}, int64_t{1}, f.rows / 2, f.rows - 1}) {
      const std::vector<double> ref = reference_ceps(c, x, j);
      for (int64_t k = 0; k < 13; ++k)
        ASSERT_NEAR(f.at(j, k), ref[k], 1e-4 * std::max(1.0, std::fabs(ref[k]))) << "sr " << sr << " frame " << j << " c" << k;
    }
  }
}

TEST(Mfcc, SilenceIsFiniteThroughTheEpsilonFloor) {
  Mfcc m(MfccConfig{});
  const std::vector<float> zeros(6000, 0.0f);
  const std::vector<float> dc(6000, 0.25f);  // removed by the per-frame DC offset removal
  for (const auto* x : {&zeros, &dc}) {
    const FeatureMatrix f = m.compute(x->data(), 6000);
    ASSERT_EQ(f.rows, m.num_frames(6000));
    const double c0 = std::sqrt(23.0) * std::log(double(std::numeric_limits<float>::epsilon()));
    for (int64_t j = 0; j < f.rows; ++j) {
      EXPECT_NEAR(f.at(j, 0), c0, 1e-4);
      for (int64_t k = 1; k < 39; ++k) EXPECT_NEAR(f.at(j, k), 0.0, 1e-4) << k;
    }
  }
}

// x[t] = s[t] exp(alpha t) with s periodic in the frame shift: frame j is exactly
// exp(alpha shift j) times frame 0, so every log-mel energy, hence c0, grows linearly in j and
// the other cepstra are constant. Deltas of a ramp: slope inside, slope * {0.5, 0.8} at the
// replicate-padded ends; delta-deltas: 0 inside, slope * {0.13, 0.15, 0.12, 0.04} at the ends.
TEST(Mfcc, DeltasOfALinearTrajectory) {
  const double sr = 24000, alpha = 1.0 / sr;
  const int64_t n = 24000;
  std::vector<float> x(static_cast<size_t>(n));
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> phase(0, 2 * M_PI);
  std::vector<double> phases(119);
  for (auto& p : phases) p = phase(rng);
  for (int64_t t = 0; t < n; ++t) {
    double s = 0;
    for (int h = 1; h <= 119; ++h) s += 0.01 * std::sin(2 * M_PI * 100.0 * h * t / sr + phases[h - 1]);
    x[t] = static_cast<float>(s * std::exp(alpha * t));
  }
  Mfcc m(MfccConfig{});
  const FeatureMatrix f = m.compute(x.data(), n);
  const int64_t T = f.rows;
  ASSERT_EQ(T, 98);
  const double g = std::sqrt(23.0) * 2.0 * alpha * 240.0;  // c0 slope per frame
  for (int64_t j = 1; j < T; ++j) {
    ASSERT_NEAR(f.at(j, 0) - f.at(j - 1, 0), g, 2e-4) << j;
    for (int64_t k = 1; k < 13; ++k) ASSERT_NEAR(f.at(j, k), f.at(0, k), 2e-3 * std::max(1.0f, std::fabs(f.at(0, k))));
  }
  const double d_end[2] = {0.5, 0.8};
  const double dd_end[4] = {0.13, 0.15, 0.12, 0.04};
  for (int64_t j = 0; j < T; ++j) {
    const int64_t from_edge = std::min(j, T - 1 - j);
    const double d = from_edge < 2 ? d_end[from_edge] * g : g;
    const double dd = (from_edge < 4 ? dd_end[from_edge] * g : 0.0) * (j < T / 2 ? 1 : -1);
    EXPECT_NEAR(f.at(j, 13), d, 1e-4) << "delta c0, frame " << j;
    EXPECT_NEAR(f.at(j, 26), dd, 1e-4) << "delta-delta c0, frame " << j;
    for (int64_t k = 1; k < 13; ++k) {
      EXPECT_NEAR(f.at(j, 13 + k), 0.0, 1e-3) << "delta c" << k << ", frame " << j;
      EXPECT_NEAR(f.at(j, 26 + k), 0.0, 1e-3) << "delta-delta c" << k << ", frame " << j;
    }
  }
}

TEST(Mfcc, SingleFrameHasZeroDeltasAndNoDeltasOption) {
  const std::vector<float> x = noise(700, 8);
  Mfcc m(MfccConfig{});
  const FeatureMatrix f = m.compute(x.data(), 700);
  ASSERT_EQ(f.rows, 1);
  for (int64_t k = 13; k < 39; ++k) EXPECT_EQ(f.at(0, k), 0.0f);
  MfccConfig c;
  c.deltas = false;
  Mfcc plain(c);
  EXPECT_EQ(plain.dim(), 13);
  const std::vector<float> y = noise(5000, 8);
  const FeatureMatrix a = plain.compute(y.data(), 5000), b = m.compute(y.data(), 5000);
  ASSERT_EQ(a.cols, 13);
  ASSERT_EQ(a.rows, b.rows);
  for (int64_t j = 0; j < a.rows; ++j)
    for (int64_t k = 0; k < 13; ++k) EXPECT_EQ(a.at(j, k), b.at(j, k));
}

// torchaudio.compliance.kaldi.get_mel_banks(23, 1024, 24000, 20, 0, ...) entries (float32).
TEST(Mfcc, KaldiFilterbankMatchesTorchaudio) {
  const mert::mel::SparseFilterbank fb = mert::mel::kaldi_mel_filterbank(23, 1024, 24000, 20, 0);
  ASSERT_EQ(fb.num_filters(), 23);
  ASSERT_EQ(fb.num_bins(), 513);
  struct Entry { int64_t mel, bin; double torch; };
  const Entry entries[] = {{3, 19, 0.88151449},   {9, 71, 0.941534102},  {17, 221, 0.56039238},
                           {17, 258, 0.289191008}, {20, 377, 0.396016598}, {22, 462, 0.809550047}};
  for (const Entry& e : entries) EXPECT_NEAR(fb.weight(e.mel, e.bin), e.torch, 5e-6) << e.mel << "," << e.bin;
  // Supports: filter 0 covers bins 1..9, filter 11 bins 85..115, filter 22 bins 397..511 (the
  // Nyquist bin 512 never has weight).
  EXPECT_EQ(fb.first_bin(0), 1);
  EXPECT_EQ(fb.first_bin(0) + fb.length(0) - 1, 9);
  EXPECT_EQ(fb.first_bin(11), 85);
  EXPECT_EQ(fb.first_bin(11) + fb.length(11) - 1, 115);
  EXPECT_EQ(fb.first_bin(22), 397);
  EXPECT_EQ(fb.first_bin(22) + fb.length(22) - 1, 511);
  EXPECT_EQ(fb.weight(22, 512), 0.0);
}

TEST(Mfcc, Deterministic) {
  const std::vector<float> x = noise(30000, 2);
  Mfcc a(MfccConfig{}), b(MfccConfig{});
  const FeatureMatrix f1 = a.compute(x.data(), 30000), f2 = a.compute(x.data(), 30000),
                      f3 = b.compute(x.data(), 30000);
  EXPECT_EQ(f1.data, f2.data);
  EXPECT_EQ(f1.data, f3.data);
}

TEST(Mfcc, ConfigValidationThrows) {
  auto bad = [](auto mutate) {
    MfccConfig c;
    mutate(c);
    EXPECT_THROW(c.validate(), mert::Error);
    EXPECT_THROW(Mfcc{c}, mert::Error);
  };
  MfccConfig ok;
  EXPECT_NO_THROW(ok.validate());
  bad([](MfccConfig& c) { c.sample_rate = -1; });
  bad([](MfccConfig& c) { c.frame_length_ms = 0.05; });  // 1 sample
  bad([](MfccConfig& c) { c.frame_shift_ms = 0.0; });
  bad([](MfccConfig& c) { c.frame_shift_ms = 0.01; });  // < 1 sample
  bad([](MfccConfig& c) { c.num_mel_bins = 3; });
  bad([](MfccConfig& c) { c.num_ceps = 0; });
  bad([](MfccConfig& c) { c.num_ceps = 24; });
  bad([](MfccConfig& c) { c.preemphasis = 1.5; });
  bad([](MfccConfig& c) { c.cepstral_lifter = -1; });
  bad([](MfccConfig& c) { c.low_freq = 12000; });
  bad([](MfccConfig& c) { c.high_freq = 13000; });
  bad([](MfccConfig& c) { c.low_freq = 500, c.high_freq = 400; });
  bad([](MfccConfig& c) { c.high_freq = -11990; });  // Nyquist offset below low_freq
}

}  // namespace
