// Log-mel teacher: framing, a brute-force reference (direct DFT + dense filterbank written from
// the torchaudio definition), tone localisation, scaling, validation.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "mert/error.h"
#include "mert/logmel.h"
#include "teachers/mel_filterbank.h"

namespace {

using mert::FeatureMatrix;
using mert::LogMel;
using mert::LogMelConfig;

std::vector<float> noise(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 0.3f);
  std::vector<float> x(static_cast<size_t>(n));
  for (auto& v : x) v = dist(rng);
  return x;
}

std::vector<float> tone(double freq, double sr, int64_t n, double amp = 0.5) {
  std::vector<float> x(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) x[i] = static_cast<float>(amp * std::sin(2.0 * M_PI * freq * i / sr));
  return x;
}

double htk_mel(double f) { return 2595.0 * std::log10(1.0 + f / 700.0); }
double htk_hz(double m) { return 700.0 * (std::pow(10.0, m / 2595.0) - 1.0); }

// Filter m's corner frequencies (left, centre, right) in Hz.
std::vector<double> mel_points(const LogMelConfig& c) {
  std::vector<double> pts;
  const double lo = htk_mel(c.f_min), hi = htk_mel(c.f_max);
  for (int64_t i = 0; i < c.n_mels + 2; ++i) pts.push_back(htk_hz(lo + (hi - lo) * i / double(c.n_mels + 1)));
  return pts;
}

// Brute force: one frame of torchaudio's MelSpectrogram + log, everything in double.
std::vector<double> reference_frame(const LogMelConfig& c, const std::vector<float>& x, int64_t j) {
  const int64_t nfft = c.n_fft, nb = nfft / 2 + 1;
  const int64_t pad = c.center ? nfft / 2 : 0;
  const int64_t wbeg = (nfft - c.win_length) / 2;
  std::vector<double> frame(static_cast<size_t>(nfft), 0.0);
  for (int64_t i = 0; i < c.win_length; ++i) {
    const int64_t idx = j * c.hop - pad + wbeg + i;
    const double w = 0.5 - 0.5 * std::cos(2.0 * M_PI * i / double(c.win_length));
    if (idx >= 0 && idx < static_cast<int64_t>(x.size())) frame[wbeg + i] = x[idx] * w;
  }
  std::vector<double> cos_t(static_cast<size_t>(nfft)), sin_t(static_cast<size_t>(nfft));
  for (int64_t r = 0; r < nfft; ++r) {
    cos_t[r] = std::cos(2.0 * M_PI * double(r) / double(nfft));
    sin_t[r] = -std::sin(2.0 * M_PI * double(r) / double(nfft));
  }
  std::vector<double> power(static_cast<size_t>(nb));
  for (int64_t k = 0; k < nb; ++k) {
    double re = 0, im = 0;
    for (int64_t i = 0; i < nfft; ++i) {
      re += frame[i] * cos_t[(k * i) % nfft];
      im += frame[i] * sin_t[(k * i) % nfft];
    }
    power[k] = std::pow(re * re + im * im, c.power / 2.0);
  }
  const std::vector<double> pts = mel_points(c);
  std::vector<double> out(static_cast<size_t>(c.n_mels));
  for (int64_t m = 0; m < c.n_mels; ++m) {
    double acc = 0;
    for (int64_t k = 0; k < nb; ++k) {
      const double f = std::floor(c.sample_rate / 2) * k / double(nb - 1);
      const double up = (f - pts[m]) / (pts[m + 1] - pts[m]);
      const double down = (pts[m + 2] - f) / (pts[m + 2] - pts[m + 1]);
      acc += std::max(0.0, std::min(up, down)) * power[k];
    }
    out[m] = std::log(acc + c.log_offset);
  }
  return out;
}

void expect_matches_reference(const LogMelConfig& c, const std::vector<float>& x, const std::vector<int64_t>& frames) {
  LogMel lm(c);
  const FeatureMatrix f = lm.compute(x.data(), static_cast<int64_t>(x.size()));
  ASSERT_EQ(f.rows, lm.num_frames(static_cast<int64_t>(x.size())));
  ASSERT_EQ(f.cols, c.n_mels);
  for (int64_t j : frames) {
    ASSERT_LT(j, f.rows);
    const std::vector<double> ref = reference_frame(c, x, j);
    for (int64_t m = 0; m < c.n_mels; ++m)
      ASSERT_NEAR(f.at(j, m), ref[m], 2e-4 * std::max(1.0, std::fabs(ref[m]))) << "frame " << j << " mel " << m;
  }
}

TEST(LogMel, FrameCountsAtBoundaries) {
  LogMel lm(LogMelConfig{});
  const int64_t hop = 320, nfft = 2048;
  const std::vector<int64_t> lengths = {0,        1,        hop - 1,   hop,        hop + 1,   2 * hop - 1, 2 * hop,
                                        nfft / 2, nfft - 1, nfft,      nfft + 1,   24000 - 1, 24000,       24000 + hop};
  for (int64_t s : lengths) {
    EXPECT_EQ(lm.num_frames(s), s / hop + 1) << "S=" << s;
    const std::vector<float> x = noise(s, 7);
    const FeatureMatrix f = lm.compute(x.data(), s);
    EXPECT_EQ(f.rows, s / hop + 1) << "S=" << s;
    EXPECT_EQ(f.cols, 229);
    for (float v : f.data) ASSERT_TRUE(std::isfinite(v)) << "S=" << s;
  }
  EXPECT_EQ(lm.num_frames(int64_t{3600} * 24000 * 5), int64_t{3600} * 24000 * 5 / hop + 1);
  EXPECT_THROW(lm.num_frames(-1), mert::Error);
  EXPECT_DOUBLE_EQ(lm.frame_center(0), 0.0);
  EXPECT_DOUBLE_EQ(lm.frame_center(7), 7.0 * hop);
}

TEST(LogMel, FrameCountsWithoutCentering) {
  LogMelConfig c;
  c.center = false;
  LogMel lm(c);
  EXPECT_EQ(lm.num_frames(0), 0);
  EXPECT_EQ(lm.num_frames(2047), 0);
  EXPECT_EQ(lm.num_frames(2048), 1);
  EXPECT_EQ(lm.num_frames(2048 + 319), 1);
  EXPECT_EQ(lm.num_frames(2048 + 320), 2);
  EXPECT_DOUBLE_EQ(lm.frame_center(2), 640.0 + 1024.0);
  const std::vector<float> x = noise(100, 3);
  const FeatureMatrix f = lm.compute(x.data(), 100);
  EXPECT_EQ(f.rows, 0);
  EXPECT_EQ(f.cols, 229);
}

TEST(LogMel, EmptyAndSilentInputGiveTheLogOffset) {
  LogMel lm(LogMelConfig{});
  const FeatureMatrix empty = lm.compute(nullptr, 0);
  ASSERT_EQ(empty.rows, 1);
  const std::vector<float> zeros(5000, 0.0f);
  const FeatureMatrix silent = lm.compute(zeros.data(), 5000);
  ASSERT_EQ(silent.rows, 5000 / 320 + 1);
  for (float v : empty.data) EXPECT_FLOAT_EQ(v, static_cast<float>(std::log(1e-6)));
  for (float v : silent.data) EXPECT_FLOAT_EQ(v, static_cast<float>(std::log(1e-6)));
}

TEST(LogMel, MatchesBruteForceDefinition) {
  const std::vector<float> x = noise(24000 / 4, 11);
  LogMelConfig c;
  // first frames and last frames are partly padding; the middle ones are interior.
  const int64_t last = static_cast<int64_t>(x.size()) / c.hop;
  expect_matches_reference(c, x, {0, 1, 3, 9, last - 1, last});
}

TEST(LogMel, MatchesBruteForceWithShortWindowAndOtherPowers) {
  const std::vector<float> x = noise(3000, 5);
  LogMelConfig c;
  c.n_fft = 512;
  c.win_length = 300;  // window centred inside the frame, as torch.stft pads it
  c.hop = 128;
  c.n_mels = 40;
  c.f_min = 0;
  c.f_max = 8000;
  c.sample_rate = 16000;
  expect_matches_reference(c, x, {0, 2, 10, 23});
  c.power = 1.0;
  expect_matches_reference(c, x, {0, 5, 23});
  c.power = 1.5;
  c.center = false;
  expect_matches_reference(c, x, {0, 7, 18});
}

TEST(LogMel, ShortSignalMatchesBruteForce) {
  const std::vector<float> x = noise(37, 1);  // much shorter than n_fft/2: all padding
  expect_matches_reference(LogMelConfig{}, x, {0});
}

TEST(LogMel, PureToneLandsInItsBand) {
  LogMelConfig c;
  LogMel lm(c);
  const std::vector<double> pts = mel_points(c);
  for (double freq : {110.0, 440.0, 1000.0, 2500.0, 6000.0, 11000.0}) {
    const std::vector<float> x = tone(freq, c.sample_rate, 12000);
    const FeatureMatrix f = lm.compute(x.data(), 12000);
    const int64_t j = f.rows / 2;
    int64_t best = 0;
    for (int64_t m = 1; m < c.n_mels; ++m)
      if (f.at(j, m) > f.at(j, best)) best = m;
    // The peak filter's triangle contains the tone's frequency...
    EXPECT_LT(pts[best], freq) << freq << " Hz peaked in band " << best;
    EXPECT_GT(pts[best + 2], freq) << freq << " Hz peaked in band " << best;
    // ...and is one of the two filters whose triangles overlap there.
    int64_t nearest = 0;
    for (int64_t m = 1; m < c.n_mels; ++m)
      if (std::fabs(pts[m + 1] - freq) < std::fabs(pts[nearest + 1] - freq)) nearest = m;
    EXPECT_LE(std::llabs(best - nearest), 1) << freq << " Hz";
    // Far away bands are much weaker (power ratio > 1e4).
    EXPECT_GT(f.at(j, best) - f.at(j, best > c.n_mels / 2 ? 0 : c.n_mels - 1), std::log(1e4)) << freq;
  }
}

TEST(LogMel, GainShiftsByLogOfPowerRatio) {
  LogMel lm(LogMelConfig{});
  std::vector<float> x = noise(8000, 21);
  const FeatureMatrix a = lm.compute(x.data(), 8000);
  for (auto& v : x) v *= 4.0f;
  const FeatureMatrix b = lm.compute(x.data(), 8000);
  // Interior frames of full-band noise: mel energies >> 1e-6, so log shifts by log(16).
  for (int64_t j = 4; j < a.rows - 4; ++j)
    for (int64_t m = 0; m < a.cols; ++m) ASSERT_NEAR(b.at(j, m) - a.at(j, m), std::log(16.0), 1e-3);
}

// Entries of torchaudio 0.13's float32 melscale_fbanks(1025, 30, 12000, 229, 24000, None, "htk")
// where it differs from the exact real-number triangle by > 3e-6: we reproduce its float32
// evaluation, so these must come out identical (the exact values are in the comments).
TEST(LogMel, FilterbankMatchesTorchaudioFloat32Weights) {
  const mert::mel::SparseFilterbank fb = mert::mel::htk_mel_filterbank(1025, 24000, 30, 12000, 229);
  ASSERT_EQ(fb.num_filters(), 229);
  ASSERT_EQ(fb.num_bins(), 1025);
  struct Entry { int64_t mel, bin; float torch; };
  const Entry entries[] = {
      {61, 75, 0.881437004f},    // exact 0.881432793
      {77, 104, 0.815647244f},   // exact 0.815644209
      {89, 130, 0.682814538f},   // exact 0.682810097
      {150, 346, 0.887492955f},  // exact 0.887479518
      {156, 380, 0.633449614f},  // exact 0.633438651
      {192, 620, 0.436988592f},  // exact 0.436998262
      {204, 730, 0.515051067f},  // exact 0.515064295
      {220, 912, 0.785009921f},  // exact 0.785003886
  };
  for (const Entry& e : entries) EXPECT_EQ(static_cast<float>(fb.weight(e.mel, e.bin)), e.torch) << e.mel << "," << e.bin;
  // Sparsity: every bin is covered by at most two triangles, so ~2 * 1025 nonzeros.
  EXPECT_LE(fb.nonzeros(), 2 * 1025);
  for (int64_t m = 0; m < 229; ++m) EXPECT_GE(fb.length(m), 1) << "empty filter " << m;
}

TEST(LogMel, DeterministicAcrossObjectsAndCalls) {
  const std::vector<float> x = noise(20000, 9);
  LogMel a(LogMelConfig{});
  LogMel b(LogMelConfig{});
  const FeatureMatrix f1 = a.compute(x.data(), 20000);
  const FeatureMatrix f2 = a.compute(x.data(), 20000);
  const FeatureMatrix f3 = b.compute(x.data(), 20000);
  EXPECT_EQ(f1.data, f2.data);
  EXPECT_EQ(f1.data, f3.data);
}

TEST(LogMel, ConfigValidationThrows) {
  auto bad = [](auto mutate) {
    LogMelConfig c;
    mutate(c);
    EXPECT_THROW(c.validate(), mert::Error);
    EXPECT_THROW(LogMel{c}, mert::Error);
  };
  LogMelConfig ok;
  EXPECT_NO_THROW(ok.validate());
  bad([](LogMelConfig& c) { c.sample_rate = 0; });
  bad([](LogMelConfig& c) { c.n_fft = 1; });
  bad([](LogMelConfig& c) { c.win_length = 4096; });
  bad([](LogMelConfig& c) { c.win_length = 0; });
  bad([](LogMelConfig& c) { c.hop = 0; });
  bad([](LogMelConfig& c) { c.n_mels = 0; });
  bad([](LogMelConfig& c) { c.f_min = -1; });
  bad([](LogMelConfig& c) { c.f_max = 12001; });
  bad([](LogMelConfig& c) { c.f_min = 5000, c.f_max = 5000; });
  bad([](LogMelConfig& c) { c.power = 0; });
  bad([](LogMelConfig& c) { c.log_offset = 0; });
}

}  // namespace
