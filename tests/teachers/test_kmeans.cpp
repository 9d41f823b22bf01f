// k-means: blob recovery, exact inertia, assignment against a double-precision brute force (both
// kernels), ties, duplicates, determinism across seeds and thread counts, and the error cases.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "mert/error.h"
#include "teachers/kmeans.h"
#include "teachers/kmeans_kernel.h"

namespace {

using mert::FeatureMatrix;
using mert::KMeansOptions;

struct Blobs {
  FeatureMatrix centres;
  FeatureMatrix frames;
};

// `k` centres uniform in [-50, 50]^dim, `per` points around each with standard deviation sigma,
// points of all blobs interleaved.
Blobs make_blobs(int64_t k, int64_t dim, int64_t per, double sigma, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> uni(-50.0f, 50.0f);
  std::normal_distribution<float> noise(0.0f, static_cast<float>(sigma));
  Blobs b{FeatureMatrix(k, dim), FeatureMatrix(k * per, dim)};
  for (auto& v : b.centres.data) v = uni(gen);
  for (int64_t i = 0; i < k * per; ++i)
    for (int64_t d = 0; d < dim; ++d) b.frames.at(i, d) = b.centres.at(i % k, d) + noise(gen);
  return b;
}

FeatureMatrix random_frames(int64_t n, int64_t dim, uint32_t seed, float offset = 0.0f) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> g(0.0f, 1.0f);
  FeatureMatrix f(n, dim);
  for (auto& v : f.data) v = g(gen) + offset;
  return f;
}

double dist2_double(const float* a, const float* b, int64_t dim) {
  double s = 0;
  for (int64_t d = 0; d < dim; ++d) {
    const double t = static_cast<double>(a[d]) - b[d];
    s += t * t;
  }
  return s;
}

// Every true centre has a distinct fitted centroid within `tol` (a matching up to permutation).
void expect_recovered(const FeatureMatrix& truth, const FeatureMatrix& fit, double tol) {
  ASSERT_EQ(truth.rows, fit.rows);
  ASSERT_EQ(truth.cols, fit.cols);
  std::vector<bool> used(static_cast<size_t>(fit.rows), false);
  for (int64_t t = 0; t < truth.rows; ++t) {
    int64_t best = -1;
    double bd = std::numeric_limits<double>::infinity();
    for (int64_t j = 0; j < fit.rows; ++j) {
      const double d = std::sqrt(dist2_double(truth.row(t), fit.row(j), truth.cols));
      if (d < bd) {
        bd = d;
        best = j;
      }
    }
    EXPECT_LT(bd, tol) << "true centre " << t << " not recovered";
    EXPECT_FALSE(used[best]) << "centroid " << best << " matched twice";
    used[best] = true;
  }
}

double brute_inertia(const FeatureMatrix& c, const FeatureMatrix& f) {
  double total = 0;
  for (int64_t i = 0; i < f.rows; ++i) {
    double best = std::numeric_limits<double>::infinity();
    for (int64_t j = 0; j < c.rows; ++j) best = std::min(best, dist2_double(f.row(i), c.row(j), f.cols));
    total += best;
  }
  return total;
}

bool same_bits(const FeatureMatrix& a, const FeatureMatrix& b) {
  return a.rows == b.rows && a.cols == b.cols &&
         std::memcmp(a.data.data(), b.data.data(), a.data.size() * sizeof(float)) == 0;
}

// Runs the body with the AVX2 kernel and with the portable one (when the CPU has AVX2).
template <typename F>
void with_both_kernels(F body) {
  const bool had = mert::kmeans_detail::kernel_uses_avx2();
  for (bool avx : {true, false}) {
    if (avx && !had) continue;
    mert::kmeans_detail::set_kernel_avx2(avx);
    SCOPED_TRACE(avx ? "avx2 kernel" : "portable kernel");
    body();
  }
  mert::kmeans_detail::set_kernel_avx2(had);
}

TEST(KMeans, LloydRecoversBlobCentres) {
  const Blobs b = make_blobs(10, 6, 200, 1.0, 1);
  KMeansOptions o;
  o.clusters = 10;
  o.minibatch = false;
  o.seed = 3;
  const auto r = mert::kmeans_fit(b.frames, o);
  expect_recovered(b.centres, r.centroids, 0.3);
  EXPECT_GE(r.iterations, 1);
  EXPECT_LE(r.iterations, o.max_iter);
}

TEST(KMeans, MinibatchRecoversBlobCentres) {
  const Blobs b = make_blobs(12, 8, 400, 1.0, 2);
  KMeansOptions o;
  o.clusters = 12;
  o.minibatch = true;
  o.batch_size = 256;
  o.n_init = 3;
  o.seed = 5;
  const auto r = mert::kmeans_fit(b.frames, o);
  expect_recovered(b.centres, r.centroids, 0.3);
}

// Greedy k-means++ alone (one Lloyd step) already lands one seed per well-separated blob.
TEST(KMeans, KMeansPlusPlusSeedsEveryBlob) {
  const Blobs b = make_blobs(16, 4, 100, 0.5, 3);
  with_both_kernels([&] {
    for (uint64_t seed = 0; seed < 5; ++seed) {
      KMeansOptions o;
      o.clusters = 16;
      o.minibatch = false;
      o.max_iter = 1;
      o.seed = seed;
      const auto r = mert::kmeans_fit(b.frames, o);
      EXPECT_EQ(r.iterations, 1);
      expect_recovered(b.centres, r.centroids, 0.3);
    }
  });
  // Many clusters: more than 8 k-means++ candidates per step (two kernel panels).
  const Blobs many = make_blobs(1200, 3, 3, 0.01, 4);
  with_both_kernels([&] {
    KMeansOptions o;
    o.clusters = 1200;
    o.minibatch = false;
    o.max_iter = 1;
    const auto r = mert::kmeans_fit(many.frames, o);
    expect_recovered(many.centres, r.centroids, 0.1);
  });
}

TEST(KMeans, MinibatchStepBudget) {
  const FeatureMatrix f = random_frames(1000, 5, 8);
  KMeansOptions o;
  o.clusters = 10;
  o.minibatch = true;
  o.batch_size = 100;
  o.max_iter = 3;
  o.max_no_improvement = 1000;
  auto r = mert::kmeans_fit(f, o);
  EXPECT_EQ(r.iterations, 3 * 1000 / 100);  // max_iter passes over the frames
  o.max_iter = 100;
  o.max_no_improvement = 2;
  r = mert::kmeans_fit(f, o);
  EXPECT_GE(r.iterations, 4);  // first batch ignored, then a minimum, then 2 without gain
  EXPECT_LT(r.iterations, 1000);
  o.batch_size = 5000;  // larger than the frame set: whole-set batches
  o.max_iter = 4;
  r = mert::kmeans_fit(f, o);
  EXPECT_LE(r.iterations, 4);
  EXPECT_EQ(r.inertia, mert::kmeans_inertia(r.centroids, f));
}

TEST(KMeans, InertiaIsExactForFinalCentroids) {
  const FeatureMatrix f = random_frames(3001, 13, 7, 5.0f);
  for (bool mb : {false, true}) {
    KMeansOptions o;
    o.clusters = 37;
    o.minibatch = mb;
    o.batch_size = 500;
    o.max_iter = 20;
    o.n_init = 2;
    const auto r = mert::kmeans_fit(f, o);
    EXPECT_EQ(r.inertia, mert::kmeans_inertia(r.centroids, f, 1)) << "minibatch=" << mb;
    EXPECT_EQ(r.inertia, mert::kmeans_inertia(r.centroids, f, 3)) << "minibatch=" << mb;
    EXPECT_NEAR(r.inertia, brute_inertia(r.centroids, f), 1e-9 * r.inertia) << "minibatch=" << mb;
  }
}

// Converged Lloyd is a fixed point: every centroid is the mean of the frames assigned to it.
TEST(KMeans, LloydConvergesToMeansOfItsClusters) {
  const Blobs b = make_blobs(6, 5, 150, 8.0, 11);  // overlapping blobs: several iterations
  KMeansOptions o;
  o.clusters = 9;
  o.minibatch = false;
  o.tol = 0;
  o.max_iter = 300;
  const auto r = mert::kmeans_fit(b.frames, o);
  ASSERT_LT(r.iterations, o.max_iter);
  EXPECT_GT(r.iterations, 2);
  std::vector<int32_t> labels(static_cast<size_t>(b.frames.rows));
  mert::kmeans_assign(r.centroids, b.frames.data.data(), b.frames.rows, labels.data());
  std::vector<double> sum(static_cast<size_t>(9 * 5), 0.0);
  std::vector<int> count(9, 0);
  for (int64_t i = 0; i < b.frames.rows; ++i) {
    ++count[labels[i]];
    for (int d = 0; d < 5; ++d) sum[labels[i] * 5 + d] += b.frames.at(i, d);
  }
  for (int j = 0; j < 9; ++j) {
    ASSERT_GT(count[j], 0) << "cluster " << j;
    for (int d = 0; d < 5; ++d)
      EXPECT_NEAR(r.centroids.at(j, d), sum[j * 5 + d] / count[j], 1e-4) << j << "," << d;
  }
}

TEST(KMeans, AssignMatchesDoubleBruteForce) {
  // Sizes off every block multiple: 77 centroids (panels of 16), 2999 rows (tiles, chunks).
  const FeatureMatrix c = random_frames(77, 39, 21, 3.0f);
  const FeatureMatrix x = random_frames(2999, 39, 22, 3.0f);
  with_both_kernels([&] {
    for (int threads : {1, 3}) {
      std::vector<int32_t> labels(static_cast<size_t>(x.rows));
      std::vector<float> d2(static_cast<size_t>(x.rows));
      mert::kmeans_assign(c, x.data.data(), x.rows, labels.data(), d2.data(), threads);
      int near_ties = 0;
      for (int64_t i = 0; i < x.rows; ++i) {
        int64_t best = 0;
        double bd = std::numeric_limits<double>::infinity();
        for (int64_t j = 0; j < c.rows; ++j) {
          const double d = dist2_double(x.row(i), c.row(j), x.cols);
          if (d < bd) {
            bd = d;
            best = j;
          }
        }
        ASSERT_GE(labels[i], 0);
        ASSERT_LT(labels[i], c.rows);
        const double got = dist2_double(x.row(i), c.row(labels[i]), x.cols);
        if (labels[i] != best) {
          // Only a float near-tie may pick another centroid, and it must be as near.
          ++near_ties;
          EXPECT_LE(got - bd, 1e-5 * bd) << "row " << i;
        }
        EXPECT_NEAR(d2[i], got, 1e-6 * got) << "row " << i;
      }
      EXPECT_LE(near_ties, 2);
    }
  });
}

TEST(KMeans, TiesGoToLowestIndex) {
  with_both_kernels([&] {
    std::vector<int32_t> none;
    FeatureMatrix one(1, 2);
    mert::kmeans_assign(one, nullptr, 0, none.data());  // no rows: nothing to do
    FeatureMatrix c(4, 2);
    c.data = {0, 1, 1, 0, -1, 0, 1, 0};  // centroids 1 and 3 coincide
    const std::vector<float> x = {0, 0,    // equidistant to all: 0
                                  1, 0,    // on 1 and 3: 1
                                  -1, 0,   // 2
                                  0, 1,    // 0
                                  1, 0,    // duplicate row: 1 again
                                  0.5f, 0.5f};  // equidistant to 0, 1, 3: 0
    std::vector<int32_t> labels(6, -1);
    std::vector<float> d2(6);
    mert::kmeans_assign(c, x.data(), 6, labels.data(), d2.data(), 2);
    EXPECT_EQ(labels, (std::vector<int32_t>{0, 1, 2, 0, 1, 0}));
    EXPECT_EQ(d2, (std::vector<float>{1, 0, 0, 0, 0, 0.5f}));
  });
}

// Ties across kernel panels (centroid j and j + 16 share a SIMD lane) and across lanes.
TEST(KMeans, TiesAcrossPanelsGoToLowestIndex) {
  with_both_kernels([&] {
    FeatureMatrix c = random_frames(45, 7, 12);
    for (int64_t j = 0; j < 16; ++j)
      for (int64_t d = 0; d < 7; ++d) c.at(j + 16, d) = c.at(j, d);  // 16..31 repeat 0..15
    for (int64_t d = 0; d < 7; ++d) c.at(40, d) = c.at(3, d);         // another lane, 3rd panel
    std::vector<float> x;
    for (int64_t j = 0; j < 45; ++j) x.insert(x.end(), c.row(j), c.row(j) + 7);
    std::vector<int32_t> labels(45, -1);
    mert::kmeans_assign(c, x.data(), 45, labels.data(), nullptr, 1);
    for (int64_t j = 0; j < 45; ++j) {
      const int64_t want = (j >= 16 && j < 32) ? j - 16 : j == 40 ? 3 : j;
      EXPECT_EQ(labels[j], want) << "row " << j;
    }
  });
}

// Fewer distinct frames than clusters: duplicate seeds and empty clusters must be survivable.
TEST(KMeans, DuplicateFramesAndEmptyClusters) {
  FeatureMatrix f(150, 3);
  for (int64_t i = 0; i < f.rows; ++i)
    for (int64_t d = 0; d < 3; ++d) f.at(i, d) = static_cast<float>((i % 3) * 10 + d);
  for (bool mb : {false, true}) {
    KMeansOptions o;
    o.clusters = 5;
    o.minibatch = mb;
    o.batch_size = 64;
    const auto r = mert::kmeans_fit(f, o);
    EXPECT_EQ(r.inertia, 0.0) << "minibatch=" << mb;
    for (float v : r.centroids.data) EXPECT_TRUE(std::isfinite(v));
  }
  // As many clusters as frames.
  const FeatureMatrix g = random_frames(40, 4, 5);
  KMeansOptions o;
  o.clusters = 40;
  o.minibatch = false;
  const auto r = mert::kmeans_fit(g, o);
  EXPECT_EQ(r.inertia, 0.0);
}

TEST(KMeans, DeterministicForSeedAndAnyThreadCount) {
  const Blobs b = make_blobs(20, 7, 150, 4.0, 9);
  for (bool mb : {false, true}) {
    KMeansOptions o;
    o.clusters = 25;
    o.minibatch = mb;
    o.batch_size = 700;
    o.n_init = 2;
    o.seed = 42;
    o.threads = 1;
    const auto a = mert::kmeans_fit(b.frames, o);
    o.threads = 3;
    const auto c = mert::kmeans_fit(b.frames, o);
    const auto d = mert::kmeans_fit(b.frames, o);
    EXPECT_TRUE(same_bits(a.centroids, c.centroids)) << "minibatch=" << mb;
    EXPECT_TRUE(same_bits(c.centroids, d.centroids)) << "minibatch=" << mb;
    EXPECT_EQ(a.inertia, c.inertia);
    EXPECT_EQ(a.iterations, c.iterations);
    o.seed = 43;
    const auto e = mert::kmeans_fit(b.frames, o);
    EXPECT_FALSE(same_bits(a.centroids, e.centroids)) << "seed ignored, minibatch=" << mb;
  }
}

TEST(KMeans, MoreRestartsNeverWorse) {
  const FeatureMatrix f = random_frames(2000, 6, 31);
  KMeansOptions o;
  o.clusters = 30;
  o.minibatch = false;
  o.n_init = 1;
  const double one = mert::kmeans_fit(f, o).inertia;
  o.n_init = 4;  // restart 0 is the same run as above
  EXPECT_LE(mert::kmeans_fit(f, o).inertia, one);
}

TEST(KMeans, ErrorsAreReported) {
  const FeatureMatrix f = random_frames(10, 3, 1);
  KMeansOptions o;
  o.clusters = 11;
  EXPECT_THROW(mert::kmeans_fit(f, o), mert::Error);  // fewer frames than clusters
  o.clusters = 0;
  EXPECT_THROW(mert::kmeans_fit(f, o), mert::Error);
  o.clusters = 3;
  FeatureMatrix bad = f;
  bad.at(4, 1) = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(mert::kmeans_fit(bad, o), mert::Error);
  bad.at(4, 1) = std::numeric_limits<float>::infinity();
  EXPECT_THROW(mert::kmeans_fit(bad, o), mert::Error);
  FeatureMatrix ragged = f;
  ragged.data.pop_back();
  EXPECT_THROW(mert::kmeans_fit(ragged, o), mert::Error);
  o.batch_size = 0;
  EXPECT_THROW(mert::kmeans_fit(f, o), mert::Error);

  FeatureMatrix c = random_frames(3, 3, 2);
  const FeatureMatrix wrong_dim = random_frames(10, 4, 3);
  EXPECT_THROW(mert::kmeans_inertia(c, wrong_dim), mert::Error);
  std::vector<int32_t> labels(10);
  EXPECT_THROW(mert::kmeans_assign(FeatureMatrix(), f.data.data(), 10, labels.data()), mert::Error);
  EXPECT_THROW(mert::kmeans_assign(c, bad.data.data(), 10, labels.data()), mert::Error);
  c.at(1, 1) = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(mert::kmeans_assign(c, f.data.data(), 10, labels.data()), mert::Error);
}

// The corpus-scale path: one hour of 75 Hz frames, 39 dims, 500 clusters.
TEST(KMeans, AssignOneHourIsFast) {
  const FeatureMatrix c = random_frames(500, 39, 1);
  const FeatureMatrix x = random_frames(270000, 39, 2);
  std::vector<int32_t> labels(static_cast<size_t>(x.rows));
  const auto t0 = std::chrono::steady_clock::now();
  mert::kmeans_assign(c, x.data.data(), x.rows, labels.data(), nullptr, 2);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("[ timing ] assign 270000 x 39 to 500 centroids, 2 threads: %.3f s (%s)\n", s,
              mert::kmeans_detail::kernel_uses_avx2() ? "avx2" : "portable");
  EXPECT_LT(s, 5.0);  // expected ~0.2-0.4 s; generous for a loaded machine
}

}  // namespace
