// Chroma tests: pitch-class mapping of CQT bins, pure tones and triads at MERT's CQT settings,
// normalisation, and shape checks.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <numeric>
#include <vector>

#include "mert/chroma.h"
#include "mert/cqt.h"
#include "mert/error.h"

namespace {

using mert::ChromaConfig;
using mert::FeatureMatrix;

constexpr double kPi = 3.14159265358979323846;

double midi_hz(double midi) { return 440.0 * std::pow(2.0, (midi - 69.0) / 12.0); }

// Sum of notes (MIDI numbers), each with its fundamental and (optionally) its octave.
std::vector<float> notes_signal(std::initializer_list<double> midis, int64_t n, double sr, bool octave) {
  std::vector<float> x(size_t(n), 0.0f);
  for (double m : midis) {
    const double f = midi_hz(m);
    for (int64_t i = 0; i < n; ++i) {
      const double t = double(i) / sr;
      double v = 0.3 * std::sin(2 * kPi * f * t + m);
      if (octave) v += 0.15 * std::sin(2 * kPi * 2 * f * t);
      x[size_t(i)] += float(v);
    }
  }
  return x;
}

// Chroma (unnormalised) of the signal's middle frame.
std::vector<float> middle_chroma(mert::Cqt& cqt, const std::vector<float>& x) {
  ChromaConfig cc;
  cc.normalize = false;
  const FeatureMatrix c = cqt.compute(x.data(), int64_t(x.size()));
  const FeatureMatrix ch = mert::chroma_from_cqt(c, cc);
  EXPECT_EQ(ch.rows, c.rows);
  EXPECT_EQ(ch.cols, 12);
  const float* r = ch.row(ch.rows / 2);
  return std::vector<float>(r, r + 12);
}

std::vector<int> top_classes(const std::vector<float>& v, int n) {
  std::vector<int> idx(12);
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) { return v[size_t(a)] > v[size_t(b)]; });
  idx.resize(size_t(n));
  std::sort(idx.begin(), idx.end());
  return idx;
}

}  // namespace

TEST(ChromaMapping, BinToPitchClass) {
  // One-hot CQT rows: bin b must land in class round(69 + 12 log2(f_b / 440)) mod 12.
  const ChromaConfig cc;  // MERT: fmin 32.7 Hz, 48 bins per octave, 336 bins
  ChromaConfig raw = cc;
  raw.normalize = false;
  FeatureMatrix one_hot(cc.cqt.n_bins, cc.cqt.n_bins);
  for (int64_t b = 0; b < cc.cqt.n_bins; ++b) one_hot.at(b, b) = 1.0f;
  const FeatureMatrix ch = mert::chroma_from_cqt(one_hot, raw);
  ASSERT_EQ(ch.rows, cc.cqt.n_bins);
  ASSERT_EQ(ch.cols, 12);
  for (int64_t b = 0; b < cc.cqt.n_bins; ++b) {
    const double f = 32.7 * std::pow(2.0, double(b) / 48.0);
    const long expect = ((long)std::floor(69.0 + 12.0 * std::log2(f / 440.0) + 0.5) % 12 + 12) % 12;
    for (int c = 0; c < 12; ++c) EXPECT_EQ(ch.at(b, c), c == expect ? 1.0f : 0.0f) << "bin " << b;
  }
  // fmin = 32.7 Hz is 0.0017 semitone below C1, so bins 0..2 are C and 4s-1..4s+2 are semitone s.
  auto cls = [&](int64_t b) { return std::max_element(ch.row(b), ch.row(b) + 12) - ch.row(b); };
  EXPECT_EQ(cls(0), 0);
  EXPECT_EQ(cls(2), 0);
  EXPECT_EQ(cls(3), 1);
  EXPECT_EQ(cls(6), 1);
  EXPECT_EQ(cls(7), 2);
  EXPECT_EQ(cls(46), 11);
  EXPECT_EQ(cls(47), 0);
  EXPECT_EQ(cls(36), 9);  // A1 = 55 Hz is bin 36
  EXPECT_EQ(cls(335), 0);
}

TEST(ChromaTones, PureTonesLandOnTheirClass) {
  mert::Cqt cqt(mert::CqtConfig{});
  const int64_t S = 3 * 24000;
  struct Case {
    double midi;
    int cls;
  };
  // C4, A4, F#2, D#3, B5, C#6, G1
  float min_share = 1.0f;
  for (const Case cs : {Case{60, 0}, Case{69, 9}, Case{42, 6}, Case{51, 3}, Case{83, 11}, Case{85, 1}, Case{31, 7}}) {
    const std::vector<float> x = notes_signal({cs.midi}, S, 24000, false);
    const std::vector<float> v = middle_chroma(cqt, x);
    const float total = std::accumulate(v.begin(), v.end(), 0.0f);
    const int arg = int(std::max_element(v.begin(), v.end()) - v.begin());
    EXPECT_EQ(arg, cs.cls) << "midi " << cs.midi;
    // The Hann main lobe spans +-2 bins = +-half a semitone, so nearly all the mass stays in-class.
    EXPECT_GE(v[size_t(cs.cls)] / total, 0.9f) << "midi " << cs.midi;
    min_share = std::min(min_share, v[size_t(cs.cls)] / total);
  }
  std::printf("[chroma] pure tones: smallest in-class share of the frame's mass %.4f\n", double(min_share));
}

TEST(ChromaTones, TriadsTopThree) {
  mert::Cqt cqt(mert::CqtConfig{});
  const int64_t S = 3 * 24000;
  // C major (C4 E4 G4) and A minor (A3 C4 E4), each note with its octave partial.
  EXPECT_EQ(top_classes(middle_chroma(cqt, notes_signal({60, 64, 67}, S, 24000, true)), 3),
            (std::vector<int>{0, 4, 7}));
  EXPECT_EQ(top_classes(middle_chroma(cqt, notes_signal({57, 60, 64}, S, 24000, true)), 3),
            (std::vector<int>{0, 4, 9}));
}

TEST(ChromaNormalize, MaxOneAndZeroFramesStayZero) {
  mert::Cqt cqt(mert::CqtConfig{});
  // 1 s of A4 then 3 s of silence: the last frames (kernels entirely in the silence) are zero.
  const int64_t S = 4 * 24000;
  std::vector<float> x = notes_signal({69}, S, 24000, false);
  std::fill(x.begin() + 24000, x.end(), 0.0f);
  const FeatureMatrix c = cqt.compute(x.data(), S);
  const FeatureMatrix ch = mert::chroma_from_cqt(c, ChromaConfig{});
  ASSERT_EQ(ch.rows, c.rows);
  for (int64_t t = 0; t < ch.rows; ++t) {
    const float mx = *std::max_element(ch.row(t), ch.row(t) + 12);
    const float cmx = *std::max_element(c.row(t), c.row(t) + c.cols);
    if (cmx > 0) {
      EXPECT_FLOAT_EQ(mx, 1.0f) << t;
    } else {
      EXPECT_EQ(mx, 0.0f) << t;
    }
    for (int k = 0; k < 12; ++k) EXPECT_GE(ch.at(t, k), 0.0f);
  }
  // The CQT is exactly zero once no kernel reaches the tone: at least the last frame.
  const float* last = ch.row(ch.rows - 1);
  for (int k = 0; k < 12; ++k) EXPECT_EQ(last[k], 0.0f);
  // And an all-zero input gives all-zero chroma.
  const FeatureMatrix z = mert::chroma_from_cqt(FeatureMatrix(5, 336), ChromaConfig{});
  for (float v : z.data) EXPECT_EQ(v, 0.0f);
}

TEST(ChromaValidation, ShapeMismatchThrows) {
  EXPECT_THROW(mert::chroma_from_cqt(FeatureMatrix(3, 84), ChromaConfig{}), mert::Error);
  ChromaConfig bad;
  bad.cqt.n_bins = 0;
  EXPECT_THROW(mert::chroma_from_cqt(FeatureMatrix(3, 0), bad), mert::Error);
  const FeatureMatrix empty = mert::chroma_from_cqt(FeatureMatrix(0, 336), ChromaConfig{});
  EXPECT_EQ(empty.rows, 0);
  EXPECT_EQ(empty.cols, 12);
}
