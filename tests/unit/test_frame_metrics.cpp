// Frame-level metrics and the DBN beat tracker on hand-made cases with known answers (the
// comparison with mir_eval, numpy and an independent Python model of the DBN on random inputs is
// tests/metrics/test_frame_metrics_oracle.py and test_dbn_oracle.py).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "mert/beat_tracker.h"
#include "mert/metrics.h"
#include "test_util.h"

namespace m = mert::metrics;
using mert_test::expect_mert_error;

TEST(FrameMetrics, MatchEventsIsAMaximumMatching) {
  // Nearest-first would pair 1.0 with 1.05 and strand 1.1; the maximum matching pairs both.
  EXPECT_EQ(m::match_events({1.0, 1.1}, {0.98, 1.05}, 0.07), 2);
  EXPECT_EQ(m::match_events({3.0, 1.0, 2.0}, {2.05, 0.5, 3.0701}, 0.07), 1);  // any order
  EXPECT_EQ(m::match_events({1.0, 1.0}, {1.0}, 0.07), 1);                    // one estimate, one match
  EXPECT_EQ(m::match_events({}, {1.0}, 0.07), 0);
  expect_mert_error([] { m::match_events({1.0}, {1.0}, -0.1); }, "negative window", "window");
}

TEST(FrameMetrics, BeatFMeasure) {
  EXPECT_DOUBLE_EQ(m::beat_f_measure({1.0, 2.0, 3.0}, {}), 0.0);
  EXPECT_DOUBLE_EQ(m::beat_f_measure({}, {1.0}), 0.0);
  EXPECT_DOUBLE_EQ(m::beat_f_measure({1.0, 2.0}, {1.01, 2.5, 3.0}), 2 * (1.0 / 3) * 0.5 / (1.0 / 3 + 0.5));
  expect_mert_error([] { m::beat_f_measure({1.0}, {30001.0}); }, "past 30000 s", "30000");
  expect_mert_error([] { m::beat_f_measure({NAN}, {1.0}); }, "NaN", "finite");
  // The set score sums counts; the mean averages the per-track values.
  const m::BeatScores s = m::beat({{{1.0, 2.0}, {1.0, 2.0}}, {{1.0, 2.0, 3.0, 4.0}, {}}});
  EXPECT_EQ(s.matched, 2);
  EXPECT_DOUBLE_EQ(s.precision, 1.0);
  EXPECT_DOUBLE_EQ(s.recall, 1.0 / 3);
  EXPECT_DOUBLE_EQ(s.f_measure, 0.5);
  EXPECT_DOUBLE_EQ(s.mean_f_measure, 0.5);
  EXPECT_EQ(s.empty_estimate, 1);
}

TEST(FrameMetrics, EncodeChordAsMirEval) {
  auto bits = [](const std::string& label) {
    std::string s;
    for (int v : m::encode_chord(label).semitones) s += std::to_string(v);
    return s;
  };
  EXPECT_EQ(bits("C:maj"), "100010010000");
  EXPECT_EQ(bits("C"), "100010010000");
  EXPECT_EQ(bits("N"), "000000000000");
  EXPECT_EQ(m::encode_chord("X").root, -1);
  EXPECT_EQ(m::encode_chord("X").semitones[0], -1);
  EXPECT_EQ(m::encode_chord("Bb:min").root, 10);
  EXPECT_EQ(m::encode_chord("Cb:maj").root, 11);
  EXPECT_EQ(m::encode_chord("E##:maj").root, 6);
  EXPECT_EQ(bits("A:min/b3"), "100100010000");           // the bass is already in the chord
  EXPECT_EQ(bits("C:maj/2"), "101010010000");            // the bass is added
  EXPECT_EQ(m::encode_chord("C:maj/b7").bass, 10);
  EXPECT_EQ(bits("C:maj(*3)"), "100000010000");          // omitted third
  EXPECT_EQ(bits("C:(3,5)"), "100010010000");            // degrees without a quality
  EXPECT_EQ(bits("C:maj(9)"), "100010010000");           // 9 is past the octave: dropped (no modulo)
  EXPECT_EQ(bits("C:maj(*1)"), "100010010000");          // the root comes back as the bass
  EXPECT_EQ(bits("C:(b1)"), "100000000001");             // b1 wraps to 11
  expect_mert_error([] { m::encode_chord("C:maj11"); }, "maj11", "maj11");
  expect_mert_error([] { m::encode_chord("C:aug7"); }, "aug7", "aug7");
  expect_mert_error([] { m::encode_chord("C:major"); }, "C:major", "Harte");
  expect_mert_error([] { m::encode_chord("c:maj"); }, "lower-case root", "c:maj");
}

TEST(FrameMetrics, ChordTrack) {
  // majmin: C=C 1 s, C:7 vs C:maj (first 8 semitones equal) 1 s, C:7 vs A:min 0, A:min7 vs A:min
  // 1 s, X skipped, N vs N (the estimate padded with N) 1 s -> 4 of 5 s.
  const m::ChordTrackScores r = m::chord_track(
      {{{0, 2, "C:maj"}, {2, 4, "A:min"}, {4, 5, "X"}, {5, 6, "N"}},
       {{0, 1, "C"}, {1, 3, "C:7"}, {3, 4, "A:min7"}, {4, 5, "G"}, {5, 5.5, "N"}}});
  EXPECT_DOUBLE_EQ(r.majmin, 0.8);
  EXPECT_DOUBLE_EQ(r.root, 0.8);
  EXPECT_DOUBLE_EQ(r.majmin_scored, 5.0);
  EXPECT_DOUBLE_EQ(r.duration, 6.0);
  // An empty estimate is all N.
  EXPECT_DOUBLE_EQ(m::chord_track({{{0, 1, "N"}, {1, 3, "C"}}, {}}).majmin, 1.0 / 3);
  expect_mert_error([] { m::chord_track({{{0, 2, "C"}, {1, 3, "G"}}, {}}); }, "overlap", "overlaps");
  expect_mert_error([] { m::chord_track({{}, {{0, 1, "C"}}}); }, "empty reference", "no chord segments");
}

TEST(FrameMetrics, GlobalSdr) {
  // Estimate = reference / 2: 10 log10(sum s^2 / sum (s/2)^2) = 10 log10(4).
  const std::vector<float> s(1000, 0.5f), e(1000, 0.25f);
  EXPECT_NEAR(m::global_sdr(s, e), 10 * std::log10((250 + 1e-7) / (62.5 + 1e-7)), 1e-12);
  // A shorter estimate is zero-padded, a longer one cut.
  EXPECT_DOUBLE_EQ(m::global_sdr({1, 1}, {1}), 10 * std::log10((2 + 1e-7) / (1 + 1e-7)));
  EXPECT_DOUBLE_EQ(m::global_sdr({1, 1}, {1, 1, 5}), 10 * std::log10((2 + 1e-7) / 1e-7));
  const m::SdrSummary x = m::summarize_sdr({3, 1, 2, 10});
  EXPECT_DOUBLE_EQ(x.mean, 4.0);
  EXPECT_DOUBLE_EQ(x.median, 2.5);
}

TEST(BeatTracker, MadmomStateSpace) {
  const m::DbnBeatTracker t;  // fps 75, 55..215 BPM
  ASSERT_EQ(t.intervals().size(), 62u);
  EXPECT_EQ(t.intervals().front(), 21);  // round(60 * 75 / 215) = round(20.93)
  EXPECT_EQ(t.intervals().back(), 82);   // round(60 * 75 / 55) = round(81.8)
  EXPECT_EQ(t.num_states(), 3193);
  // numpy rounds halves to even: 60 * 100 / 240 = 25 (.0), 60 * 90 / 240 = 22.5 -> 22.
  m::DbnOptions o;
  o.fps = 90;
  o.max_bpm = 240;
  EXPECT_EQ(m::DbnBeatTracker(o).intervals().front(), 22);
}

TEST(BeatTracker, PeriodicActivation) {
  // 100 BPM at 75 fps: a beat every 45 frames, activation bumps over a 0.03 floor.
  const double fps = 75, period = 0.6;
  std::vector<double> truth;
  std::vector<float> a(static_cast<size_t>(30 * fps - 10), 0.03f);
  for (double t = 0.2; t * fps < a.size() - 10; t += period) {
    const auto f = static_cast<size_t>(std::nearbyint(t * fps));
    a[f] = 0.95f;
    a[f - 1] = a[f + 1] = 0.4f;
    truth.push_back(static_cast<double>(f) / fps);
  }
  const std::vector<double> beats = m::track_beats(a);
  ASSERT_EQ(beats.size(), truth.size());
  for (size_t i = 0; i < beats.size(); ++i) EXPECT_NEAR(beats[i], truth[i], 1e-9) << i;
  EXPECT_TRUE(m::track_beats(std::vector<float>(100, 0.0f)).empty());  // all zero: no beats
  EXPECT_TRUE(m::track_beats({}).empty());
}

TEST(BeatTracker, RefusesBadOptionsAndInput) {
  auto with = [](auto set) {
    m::DbnOptions o;
    set(o);
    return o;
  };
  expect_mert_error([&] { with([](m::DbnOptions& o) { o.fps = 0; }).validate(); }, "fps 0", "fps");
  expect_mert_error([&] { with([](m::DbnOptions& o) { o.min_bpm = 300; }).validate(); }, "min > max", "min_bpm");
  expect_mert_error([&] { with([](m::DbnOptions& o) { o.observation_lambda = 1; }).validate(); }, "obs", "observation");
  expect_mert_error([&] { with([](m::DbnOptions& o) { o.threshold = -1; }).validate(); }, "threshold", "threshold");
  expect_mert_error([&] { with([](m::DbnOptions& o) { o.fps = 1; }).validate(); }, "interval < 1", "at least 1");
  expect_mert_error([] { m::track_beats({0.5f, 1.5f}); }, "activation > 1", "frame 1");
}
