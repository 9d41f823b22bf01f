// mert::metrics on hand-made cases with known answers (the comparison with scikit-learn and
// mir_eval on random inputs is tests/metrics/test_metrics_oracle.py): tie rules, skipped
// classes, the constant-target rule, every key spelling and relation, and refusals.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "mert/metrics.h"
#include "metrics/ranking.h"
#include "test_util.h"

namespace m = mert::metrics;
using mert_test::expect_mert_error;

namespace {

m::Matrix mat(int64_t rows, int64_t cols, std::vector<double> v) { return m::Matrix{rows, cols, std::move(v)}; }

}  // namespace

TEST(Metrics, MulticlassTieRules) {
  // All 7 scores tied: argmax is class 0; top-5 (sklearn) are classes 6..2.
  const m::Matrix tied = mat(7, 7, std::vector<double>(49, 0.0));
  const auto r = m::multiclass({0, 1, 2, 3, 4, 5, 6}, tied);
  EXPECT_DOUBLE_EQ(r.accuracy, 1.0 / 7);
  EXPECT_DOUBLE_EQ(r.top5_accuracy, 5.0 / 7);
  // Target 0 with score 1 behind five classes at 2 and one at 1 with a higher index: rank 6.
  const auto s = m::multiclass({0, 6}, mat(2, 7, {1, 2, 2, 2, 2, 2, 1, /**/ 1, 2, 2, 2, 2, 2, 1}));
  EXPECT_DOUBLE_EQ(s.accuracy, 0.0);
  EXPECT_DOUBLE_EQ(s.top5_accuracy, 0.0);
  // C <= 5: every target is in the top 5.
  EXPECT_DOUBLE_EQ(m::multiclass({2}, mat(1, 3, {5, 4, 3})).top5_accuracy, 1.0);
}

TEST(Metrics, MulticlassRefuses) {
  const m::Matrix s = mat(2, 3, {0, 1, 2, 3, 4, 5});
  expect_mert_error([&] { m::multiclass({0}, s); }, "size", "mismatch");
  expect_mert_error([&] { m::multiclass({0, 3}, s); }, "range", "[0, 3)");
  expect_mert_error([&] { m::multiclass({0, -1}, s); }, "negative", "[0, 3)");
  expect_mert_error([&] { m::multiclass({}, mat(0, 3, {})); }, "empty", "row");
  m::Matrix nan = s;
  nan.data[4] = std::numeric_limits<double>::quiet_NaN();
  expect_mert_error([&] { m::multiclass({0, 1}, nan); }, "nan", "row 1, column 1");
  expect_mert_error([&] { m::multiclass({0, 1}, mat(2, 3, {0, 1})); }, "short data", "fill");
}

TEST(Metrics, BinaryCurveGroupsTies) {
  const auto c = m::detail::binary_clf_curve({0.5, 0.9, 0.5, 0.1, 0.5}, {1, 0, 0, 1, 1});
  EXPECT_EQ(c.tps, (std::vector<int64_t>{0, 2, 3}));
  EXPECT_EQ(c.fps, (std::vector<int64_t>{1, 2, 2}));
  // AUC = pairs (pos > neg) + 0.5 (ties) over P * N = (0 + 0 + 1 + 1.5 + 0 + ...) / 6.
  // positives 0.5, 0.5, 0.1 vs negatives 0.9, 0.5: 0.5 ties 0.5 twice (1), 0.1 loses: 1 / 6.
  EXPECT_DOUBLE_EQ(m::detail::roc_auc(c), 1.0 / 6);
  // AP: threshold 0.9 adds no recall; 0.5: recall 2/3 at precision 2/4; 0.1: 1/3 at 3/5.
  EXPECT_DOUBLE_EQ(m::detail::average_precision(c), 2.0 / 3 * 0.5 + 1.0 / 3 * 0.6);
}

TEST(Metrics, MultilabelKnownAndSkipped) {
  // Class 0 = sklearn's docstring example (AUC 0.75, AP 0.8333); class 1 has no negative,
  // class 2 no positive: both skipped. F1 predicts score > 0 (0 is negative).
  const m::Matrix t = mat(4, 3, {0, 1, 0, 0, 1, 0, 1, 1, 0, 1, 1, 0});
  const m::Matrix s = mat(4, 3, {0.1, 1, 1, 0.4, 1, 1, 0.35, 1, 1, 0.8, 1, 1});
  const auto r = m::multilabel(t, s);
  EXPECT_NEAR(r.roc_auc_macro, 0.75, 1e-15);
  EXPECT_NEAR(r.ap_macro, 5.0 / 6, 1e-15);
  EXPECT_NEAR(r.f1_macro, 2.0 / 3, 1e-15);
  EXPECT_EQ(r.skipped_classes, 2);
  const auto z = m::multilabel(mat(2, 1, {1, 0}), mat(2, 1, {0.0, -1}));
  EXPECT_EQ(z.f1_macro, 0.0);
  EXPECT_EQ(m::multilabel(mat(2, 1, {1, 0}), mat(2, 1, {1e-300, -1})).f1_macro, 1.0);
}

TEST(Metrics, MultilabelRefuses) {
  const m::Matrix t = mat(2, 2, {0, 1, 1, 0});
  expect_mert_error([&] { m::multilabel(t, mat(2, 1, {0, 1})); }, "shape", "mismatch");
  expect_mert_error([&] { m::multilabel(mat(2, 2, {0, 2, 1, 0}), t); }, "target 2", "0 or 1");
  expect_mert_error([&] { m::multilabel(t, mat(2, 2, {0, INFINITY, 1, 0})); }, "inf", "non-finite");
  expect_mert_error([&] { m::multilabel(mat(1, 2, {0, 1}), mat(1, 2, {0, 1})); }, "all skipped", "skipped");
}

TEST(Metrics, RegressionConstantRuleAndKnown) {
  const auto r = m::regression(mat(3, 3, {1, 5, 1, 2, 5, 2, 3, 5, 3}), mat(3, 3, {1, 5, 2, 2, 5, 2, 3, 5, 2}));
  EXPECT_EQ(r.r2, (std::vector<double>{1.0, 1.0, 0.0}));
  EXPECT_DOUBLE_EQ(r.r2_mean, 2.0 / 3);
  // A constant whose mean numpy would not compute exactly is still a constant target.
  EXPECT_EQ(m::regression(mat(3, 1, {0.1, 0.1, 0.1}), mat(3, 1, {0.1, 0.1, 0.2})).r2[0], 0.0);
  EXPECT_EQ(m::regression(mat(3, 1, {0.1, 0.1, 0.1}), mat(3, 1, {0.1, 0.1, 0.1})).r2[0], 1.0);
  // 1 - 2/8: targets 0, 2, 4 (mean 2, ss 8), errors 1, 0, 1.
  EXPECT_DOUBLE_EQ(m::regression(mat(3, 1, {0, 2, 4}), mat(3, 1, {1, 2, 3})).r2[0], 0.75);
  expect_mert_error([&] { m::regression(mat(1, 1, {1}), mat(1, 1, {1})); }, "N = 1", "at least 2");
  expect_mert_error([&] { m::regression(mat(2, 1, {1, 2}), mat(2, 2, {1, 2, 3, 4})); }, "shape", "mismatch");
}

TEST(Metrics, KeySpellings) {
  const std::vector<std::pair<std::string, int>> ok = {
      {"C major", 0},    {"c major", 0},   {"C# major", 1}, {"Db major", 1},  {"d# minor", 15},
      {"Eb minor", 15},  {"EB minor", 15}, {"F# minor", 18}, {"Gb minor", 18}, {"G# major", 8},
      {"Ab major", 8},   {"A# minor", 22}, {"Bb minor", 22}, {"B minor", 23},  {"  E \t major ", 4}};
  for (const auto& [text, index] : ok) EXPECT_EQ(m::key_index(text), index) << text;
  for (int i = 0; i < 24; ++i) EXPECT_EQ(m::key_index(m::key_name(i)), i) << m::key_name(i);
  EXPECT_EQ(m::key_name(15), "Eb minor");
  // mir_eval refuses these too (its mode is case-sensitive; Cb, E#, H are not in its table),
  // or accepts them outside the 24 classes ('X', mode 'other').
  for (const std::string bad : {"H minor", "C Major", "C MINOR", "Cb major", "E# minor", "X", "x", "C", "",
                                "C major minor", "C other", "C dorian", "C  maj"})
    expect_mert_error([&] { m::key_index(bad); }, "'" + bad + "'", "unknown key");
}

TEST(Metrics, KeyWeightedScoreRelations) {
  // For every reference exactly one estimate scores 1, 0.5, 0.3 and 0.2; the other 20 score 0.
  for (int ref = 0; ref < 24; ++ref) {
    int n1 = 0, n05 = 0, n03 = 0, n02 = 0, n0 = 0;
    for (int est = 0; est < 24; ++est) {
      const double w = m::key_weighted_score(ref, est);
      n1 += w == 1.0, n05 += w == 0.5, n03 += w == 0.3, n02 += w == 0.2, n0 += w == 0.0;
    }
    EXPECT_EQ(n1, 1);
    EXPECT_EQ(n05, 1);
    EXPECT_EQ(n03, 1);
    EXPECT_EQ(n02, 1);
    EXPECT_EQ(n0, 20) << m::key_name(ref);
  }
  auto w = [](const char* a, const char* b) { return m::key_weighted_score(m::key_index(a), m::key_index(b)); };
  EXPECT_EQ(w("C major", "G major"), 0.5);  // fifth above
  EXPECT_EQ(w("C major", "F major"), 0.0);  // fifth below
  EXPECT_EQ(w("A minor", "E minor"), 0.5);
  EXPECT_EQ(w("C major", "A minor"), 0.3);  // relative minor
  EXPECT_EQ(w("A minor", "C major"), 0.3);  // relative major
  EXPECT_EQ(w("C minor", "A major"), 0.0);  // (minor -> major 9 up is not relative)
  EXPECT_EQ(w("C major", "C minor"), 0.2);  // parallel
  EXPECT_EQ(w("B minor", "F# minor"), 0.5);  // wraps around the octave
  const auto k = m::key({0, 9 + 12, 3}, {7, 0, 3});
  EXPECT_DOUBLE_EQ(k.weighted_score, (0.5 + 0.3 + 1.0) / 3);
  EXPECT_DOUBLE_EQ(k.accuracy, 1.0 / 3);
  expect_mert_error([] { m::key({}, {}); }, "empty", "no keys");
  expect_mert_error([] { m::key({0}, {0, 1}); }, "sizes", "mismatch");
  expect_mert_error([] { m::key_weighted_score(24, 0); }, "index", "[0, 24)");
}
