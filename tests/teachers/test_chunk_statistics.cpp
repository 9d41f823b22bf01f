// The probe's hand-crafted baselines: per-chunk mean and standard deviation of a teacher feature.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "teachers/teacher_runs.h"

namespace {

std::vector<float> noise(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 0.3f);
  std::vector<float> x(static_cast<size_t>(n));
  for (auto& v : x) v = dist(rng);
  return x;
}

TEST(ChunkStatistics, MeanAndStdOfEachChunksNativeFrames) {
  mert::TeacherParams params;
  mert::TeacherExtractor ex(mert::TeacherFeature::Mfcc, params);
  const auto x = noise(24000 * 5 / 2, 7);  // 2.5 s: chunks of 1 s, 1 s, 0.5 s
  const auto s = mert::chunk_statistics(ex, x.data(), static_cast<int64_t>(x.size()), 24000, 0);
  ASSERT_EQ(s.rows, 3);
  ASSERT_EQ(s.cols, 2 * ex.dim());
  // Chunk 1 against its frames computed on their own.
  const auto f = ex.native(x.data() + 24000, 24000);
  for (int64_t j = 0; j < ex.dim(); ++j) {
    double m = 0, v = 0;
    for (int64_t t = 0; t < f.rows; ++t) m += f.at(t, j);
    m /= static_cast<double>(f.rows);
    for (int64_t t = 0; t < f.rows; ++t) v += (f.at(t, j) - m) * (f.at(t, j) - m);
    EXPECT_NEAR(s.at(1, j), m, 1e-4 * (1 + std::abs(m)));
    EXPECT_NEAR(s.at(1, ex.dim() + j), std::sqrt(v / static_cast<double>(f.rows)), 1e-4 * (1 + std::abs(m)));
  }
}

TEST(ChunkStatistics, ShortTailRuleAndTinyInputs) {
  mert::TeacherParams params;
  mert::TeacherExtractor ex(mert::TeacherFeature::Chroma, params);
  const auto x = noise(24000 * 5 / 2, 8);
  EXPECT_EQ(mert::chunk_statistics(ex, x.data(), static_cast<int64_t>(x.size()), 24000, 24000 * 6 / 10).rows, 2);
  EXPECT_EQ(mert::chunk_statistics(ex, x.data(), static_cast<int64_t>(x.size()), 24000, 12000).rows, 3);
  // A file shorter than one MFCC window still gives one (zero-padded) chunk.
  mert::TeacherExtractor mfcc(mert::TeacherFeature::Mfcc, params);
  const auto s = mert::chunk_statistics(mfcc, x.data(), 300, 24000, 24000);
  EXPECT_EQ(s.rows, 1);
  for (float v : s.data) EXPECT_TRUE(std::isfinite(v));
}

}  // namespace
