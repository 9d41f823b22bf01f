// k-means for teacher labels: greedy k-means++ seeding, then full Lloyd iterations or
// scikit-learn-style mini-batch updates; nearest-centroid assignment with a fused SIMD kernel.
//
// Determinism: random draws are serial (kmeans_rng.h); parallel work is split into fixed chunks
// of rows (or blocks of clusters) whose results do not depend on the thread that ran them, and
// partial sums are reduced in chunk order. So the same frames, options and seed give the same
// centroid bits for any thread count.
#include "teachers/kmeans.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "mert/error.h"
#include "teachers/kmeans_kernel.h"
#include "teachers/kmeans_plusplus.h"
#include "teachers/kmeans_pool.h"
#include "teachers/kmeans_rng.h"

namespace mert {
namespace {

using kmeans_detail::kChunkRows;
using kmeans_detail::PackedCentroids;
using kmeans_detail::Pool;
using kmeans_detail::Rng;

constexpr int64_t kClusterBlock = 16;  // clusters per task in the centre updates

int64_t chunk_count(int64_t n) { return (n + kChunkRows - 1) / kChunkRows; }

// Nearest centroid of rows x[n, dim] (cent[k, dim] packed as pc): labels[n]; optionally the exact
// squared distances d2[n]; returns their sum (chunk sums added in order) when want_sum.
double assign_rows(Pool& pool, const PackedCentroids& pc, const float* cent, const float* x,
                   int64_t n, int32_t* labels, float* d2, bool want_sum, const char* who) {
  const int64_t dim = pc.dim;
  const int64_t chunks = chunk_count(n);
  std::vector<double> sums(want_sum ? static_cast<size_t>(chunks) : 0);
  pool.parallel_for(chunks, [&](int64_t c) {
    const int64_t i0 = c * kChunkRows, rows = std::min(kChunkRows, n - i0);
    const int64_t bad = kmeans_detail::nearest_rows(pc, x + i0 * dim, rows, labels + i0);
    if (bad >= 0)
      throw Error(std::string(who) + ": row " + std::to_string(i0 + bad) +
                  " holds a NaN or infinite value");
    if (!d2 && !want_sum) return;
    double s = 0;
    for (int64_t i = i0; i < i0 + rows; ++i) {
      const double d = kmeans_detail::squared_distance(x + i * dim, cent + labels[i] * dim, dim);
      if (d2) d2[i] = static_cast<float>(d);
      s += d;
    }
    if (want_sum) sums[c] = s;
  });
  double total = 0;
  for (double s : sums) total += s;
  return total;
}

// Rows grouped by label: members of cluster j are order[start[j] .. start[j+1]), ascending.
struct Groups {
  std::vector<int64_t> start;
  std::vector<int64_t> order;
};

void group_by_label(const int32_t* labels, int64_t n, int64_t k, Groups* g) {
  g->start.assign(static_cast<size_t>(k + 1), 0);
  for (int64_t i = 0; i < n; ++i) ++g->start[labels[i] + 1];
  for (int64_t j = 0; j < k; ++j) g->start[j + 1] += g->start[j];
  g->order.resize(static_cast<size_t>(n));
  std::vector<int64_t> fill(g->start.begin(), g->start.end() - 1);
  for (int64_t i = 0; i < n; ++i) g->order[fill[labels[i]]++] = i;
}

// Per-cluster sums (double, members added in row order) and counts.
void cluster_sums(Pool& pool, const float* x, int64_t dim, int64_t k, const Groups& g,
                  std::vector<double>* sums, std::vector<int64_t>* counts) {
  sums->assign(static_cast<size_t>(k * dim), 0.0);
  counts->resize(static_cast<size_t>(k));
  pool.parallel_for((k + kClusterBlock - 1) / kClusterBlock, [&](int64_t b) {
    for (int64_t j = b * kClusterBlock; j < std::min(k, (b + 1) * kClusterBlock); ++j) {
      double* s = sums->data() + j * dim;
      for (int64_t m = g.start[j]; m < g.start[j + 1]; ++m) {
        const float* xr = x + g.order[m] * dim;
        for (int64_t d = 0; d < dim; ++d) s[d] += xr[d];
      }
      (*counts)[j] = g.start[j + 1] - g.start[j];
    }
  });
}

// Empty clusters after a Lloyd assignment: each takes, in turn, the row farthest from its own
// centre (largest d2, ties to the lower row), skipping rows whose cluster would be left empty;
// the row moves to the empty cluster (sum and count), so the empty cluster's new centre is that
// row and the donor's centre is the mean of its remaining rows. This is scikit-learn's rule plus
// the donor guard; as n >= k there are always enough eligible rows. Returns true if any moved.
bool relocate_empty(const float* x, int64_t n, int64_t dim, int64_t k, const float* d2,
                    int32_t* labels, std::vector<double>* sums, std::vector<int64_t>* counts) {
  std::vector<int64_t> empty;
  for (int64_t j = 0; j < k; ++j)
    if ((*counts)[j] == 0) empty.push_back(j);
  if (empty.empty()) return false;
  // At most k singleton rows plus one per move become ineligible: the top 2e + k rows suffice.
  const int64_t e = static_cast<int64_t>(empty.size());
  const int64_t m = std::min(n, 2 * e + k);
  std::vector<int64_t> idx(static_cast<size_t>(n));
  std::iota(idx.begin(), idx.end(), int64_t{0});
  std::partial_sort(idx.begin(), idx.begin() + m, idx.end(), [&](int64_t a, int64_t b) {
    return d2[a] > d2[b] || (d2[a] == d2[b] && a < b);
  });
  int64_t next = 0;
  for (int64_t j : empty) {
    while (next < m && (*counts)[labels[idx[next]]] < 2) ++next;
    if (next >= m) break;  // not reachable for n >= k; the cluster then keeps its old centre
    const int64_t i = idx[next++];
    const int64_t donor = labels[i];
    const float* xr = x + i * dim;
    double* sd = sums->data() + donor * dim;
    double* sj = sums->data() + j * dim;
    for (int64_t d = 0; d < dim; ++d) {
      sd[d] -= xr[d];
      sj[d] = xr[d];
    }
    --(*counts)[donor];
    (*counts)[j] = 1;
    labels[i] = static_cast<int32_t>(j);
  }
  return true;
}

// Per-feature mean (double) and the mean of the per-feature variances.
void moments(const FeatureMatrix& f, std::vector<float>* mean, double* mean_var) {
  const int64_t n = f.rows, dim = f.cols;
  std::vector<double> s(static_cast<size_t>(dim), 0.0), s2(static_cast<size_t>(dim), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    const float* r = f.row(i);
    for (int64_t d = 0; d < dim; ++d) s[d] += r[d];
  }
  mean->resize(static_cast<size_t>(dim));
  for (int64_t d = 0; d < dim; ++d) s[d] /= static_cast<double>(n);
  for (int64_t i = 0; i < n; ++i) {
    const float* r = f.row(i);
    for (int64_t d = 0; d < dim; ++d) {
      const double c = r[d] - s[d];
      s2[d] += c * c;
    }
  }
  double v = 0;
  for (int64_t d = 0; d < dim; ++d) {
    (*mean)[d] = static_cast<float>(s[d]);
    v += s2[d] / static_cast<double>(n);
  }
  *mean_var = v / static_cast<double>(dim);
}

// Rows of x (those listed in idx, or all n when idx is null) minus `mean`, with squared norms:
// the input of k-means++.
struct CentredRows {
  std::vector<float> x;
  std::vector<float> norm2;
};

CentredRows centre_rows(const float* x, int64_t n, int64_t dim, const std::vector<int64_t>* idx,
                        const std::vector<float>& mean) {
  const int64_t m = idx ? static_cast<int64_t>(idx->size()) : n;
  CentredRows c;
  c.x.resize(static_cast<size_t>(m * dim));
  c.norm2.resize(static_cast<size_t>(m));
  for (int64_t r = 0; r < m; ++r) {
    const float* src = x + (idx ? (*idx)[r] : r) * dim;
    float* dst = c.x.data() + r * dim;
    double s = 0;
    for (int64_t d = 0; d < dim; ++d) {
      dst[d] = src[d] - mean[d];
      s += static_cast<double>(dst[d]) * dst[d];
    }
    c.norm2[r] = static_cast<float>(s);
  }
  return c;
}

// k-means++ on the centred rows; returns the chosen rows of the original data (row r of the
// centred set is x row idx[r], or r).
std::vector<float> seed(Pool& pool, Rng& rng, const CentredRows& c, int64_t k, const float* x,
                        int64_t dim, const std::vector<int64_t>* idx) {
  const int64_t m = static_cast<int64_t>(c.norm2.size());
  const std::vector<int64_t> chosen =
      kmeans_detail::kmeans_plusplus(c.x.data(), m, dim, c.norm2.data(), k, rng, pool);
  std::vector<float> centers(static_cast<size_t>(k * dim));
  for (int64_t j = 0; j < k; ++j) {
    const int64_t r = idx ? (*idx)[chosen[j]] : chosen[j];
    std::memcpy(centers.data() + j * dim, x + r * dim, static_cast<size_t>(dim) * sizeof(float));
  }
  return centers;
}

struct RunResult {
  std::vector<float> centers;
  double inertia = 0;
  int iterations = 0;
};

// Full Lloyd iterations from `centers` (scikit-learn's loop): assign with the current centres,
// move each centre to the mean of its rows (empty clusters relocated), stop when the labels repeat
// or the squared centre shift is <= tol_abs. The inertia is exact for the returned centres.
RunResult lloyd(Pool& pool, const FeatureMatrix& f, int64_t k, int max_iter, double tol_abs,
                std::vector<float> centers) {
  const int64_t n = f.rows, dim = f.cols;
  const float* x = f.data.data();
  std::vector<int32_t> labels(static_cast<size_t>(n)), labels_old(static_cast<size_t>(n), -1);
  std::vector<float> d2(static_cast<size_t>(n)), next(centers.size());
  std::vector<double> sums;
  std::vector<int64_t> counts;
  Groups groups;
  PackedCentroids pc;
  RunResult out;
  bool strict = false;
  double strict_inertia = 0;
  int it = 0;
  while (it < max_iter) {
    kmeans_detail::pack_centroids(centers.data(), k, dim, nullptr, 16, &pc);
    const double inertia = assign_rows(pool, pc, centers.data(), x, n, labels.data(), d2.data(),
                                       true, "kmeans_fit");
    const bool same = labels == labels_old;
    group_by_label(labels.data(), n, k, &groups);
    cluster_sums(pool, x, dim, k, groups, &sums, &counts);
    const bool moved = relocate_empty(x, n, dim, k, d2.data(), labels.data(), &sums, &counts);
    double shift = 0;
    for (int64_t j = 0; j < k; ++j) {
      for (int64_t d = 0; d < dim; ++d) {
        const size_t q = static_cast<size_t>(j * dim + d);
        next[q] = counts[j] > 0 ? static_cast<float>(sums[q] / static_cast<double>(counts[j]))
                                : centers[q];
        const double diff = static_cast<double>(next[q]) - centers[q];
        shift += diff * diff;
      }
    }
    ++it;
    if (same && !moved) {
      // Same partition as last time, so the means equal the current centres: done, and the
      // distances just computed are those of the final centres.
      strict = true;
      strict_inertia = inertia;
      break;
    }
    centers.swap(next);
    if (shift <= tol_abs) break;
    labels_old.swap(labels);
  }
  if (strict) {
    out.inertia = strict_inertia;
  } else {
    kmeans_detail::pack_centroids(centers.data(), k, dim, nullptr, 16, &pc);
    out.inertia = assign_rows(pool, pc, centers.data(), x, n, labels.data(), nullptr, true,
                              "kmeans_fit");
  }
  out.centers = std::move(centers);
  out.iterations = it;
  return out;
}

void gather_rows(const float* x, int64_t dim, const std::vector<int64_t>& idx, float* out) {
  for (size_t r = 0; r < idx.size(); ++r)
    std::memcpy(out + r * dim, x + idx[r] * dim, static_cast<size_t>(dim) * sizeof(float));
}

// Mini-batch k-means after scikit-learn's MiniBatchKMeans (reassignment_ratio = 0, as HuBERT
// uses): n_init k-means++ seedings on random subsets of init_size = 3 * batch rows, the one with
// the lowest inertia on a validation subset is kept; then steps over batches drawn with
// replacement, each centre moving to the running mean of every row ever assigned to it
// (learning rate 1 / count); stop after (max_iter * n) / batch steps, or when the smoothed batch
// inertia has not improved for max_no_improvement steps.
RunResult minibatch(Pool& pool, const FeatureMatrix& f, const KMeansOptions& opt,
                    const std::vector<float>& mean) {
  const int64_t n = f.rows, dim = f.cols, k = opt.clusters;
  const float* x = f.data.data();
  const int64_t batch = std::min(opt.batch_size, n);
  int64_t init_size = 3 * batch;
  if (init_size < k) init_size = 3 * k;
  init_size = std::min(init_size, n);
  Rng rng(opt.seed);

  std::vector<int64_t> idx(static_cast<size_t>(init_size));
  for (auto& i : idx) i = rng.below(n);
  std::vector<float> valid(static_cast<size_t>(init_size * dim));
  gather_rows(x, dim, idx, valid.data());

  std::vector<float> centers;
  std::vector<int32_t> labels(static_cast<size_t>(std::max(init_size, batch)));
  CentredRows all;  // every row, when init_size == n
  PackedCentroids pc;
  double best = std::numeric_limits<double>::infinity();
  for (int r = 0; r < opt.n_init; ++r) {
    std::vector<float> cand;
    if (init_size < n) {
      for (auto& i : idx) i = rng.below(n);
      cand = seed(pool, rng, centre_rows(x, n, dim, &idx, mean), k, x, dim, &idx);
    } else {
      if (all.x.empty()) all = centre_rows(x, n, dim, nullptr, mean);
      cand = seed(pool, rng, all, k, x, dim, nullptr);
    }
    kmeans_detail::pack_centroids(cand.data(), k, dim, nullptr, 16, &pc);
    const double inertia = assign_rows(pool, pc, cand.data(), valid.data(), init_size,
                                       labels.data(), nullptr, true, "kmeans_fit");
    if (inertia < best) {
      best = inertia;
      centers.swap(cand);
    }
  }
  all = CentredRows();

  std::vector<double> weight(static_cast<size_t>(k), 0.0);
  std::vector<float> xb(static_cast<size_t>(batch * dim));
  idx.resize(static_cast<size_t>(batch));
  Groups groups;
  const int64_t steps = std::max<int64_t>(1, static_cast<int64_t>(opt.max_iter) * n / batch);
  const double alpha = std::min(1.0, static_cast<double>(batch) * 2.0 / static_cast<double>(n + 1));
  double ewa = 0, ewa_min = 0;
  bool have_ewa = false, have_min = false;
  int64_t no_improvement = 0, step = 0;
  while (step < steps) {
    for (auto& i : idx) i = rng.below(n);
    gather_rows(x, dim, idx, xb.data());
    kmeans_detail::pack_centroids(centers.data(), k, dim, nullptr, 16, &pc);
    const double batch_inertia =
        assign_rows(pool, pc, centers.data(), xb.data(), batch, labels.data(), nullptr, true,
                    "kmeans_fit") /
        static_cast<double>(batch);
    group_by_label(labels.data(), batch, k, &groups);
    pool.parallel_for((k + kClusterBlock - 1) / kClusterBlock, [&](int64_t b) {
      std::vector<double> s(static_cast<size_t>(dim));
      for (int64_t j = b * kClusterBlock; j < std::min(k, (b + 1) * kClusterBlock); ++j) {
        const int64_t m0 = groups.start[j], m1 = groups.start[j + 1];
        if (m0 == m1) continue;
        float* c = centers.data() + j * dim;
        const double w = weight[j];
        for (int64_t d = 0; d < dim; ++d) s[d] = static_cast<double>(c[d]) * w;
        for (int64_t m = m0; m < m1; ++m) {
          const float* xr = xb.data() + groups.order[m] * dim;
          for (int64_t d = 0; d < dim; ++d) s[d] += xr[d];
        }
        const double w1 = w + static_cast<double>(m1 - m0);
        for (int64_t d = 0; d < dim; ++d) c[d] = static_cast<float>(s[d] / w1);
        weight[j] = w1;
      }
    });
    ++step;
    if (step == 1) continue;  // the first batch measures the initialisation only
    if (!have_ewa) {
      ewa = batch_inertia;
      have_ewa = true;
    } else {
      ewa = ewa * (1 - alpha) + batch_inertia * alpha;
    }
    if (!have_min || ewa < ewa_min) {
      no_improvement = 0;
      ewa_min = ewa;
      have_min = true;
    } else if (++no_improvement >= opt.max_no_improvement) {
      break;
    }
  }
  RunResult out;
  out.centers = std::move(centers);
  out.iterations = static_cast<int>(std::min<int64_t>(step, std::numeric_limits<int>::max()));
  kmeans_detail::pack_centroids(out.centers.data(), k, dim, nullptr, 16, &pc);
  std::vector<int32_t> all_labels(static_cast<size_t>(n));
  out.inertia = assign_rows(pool, pc, out.centers.data(), x, n, all_labels.data(), nullptr, true,
                            "kmeans_fit");
  return out;
}

void check_centroids(const FeatureMatrix& c, const char* who) {
  if (c.rows < 1 || c.cols < 1)
    throw Error(std::string(who) + ": empty codebook (" + std::to_string(c.rows) + " x " +
                std::to_string(c.cols) + ")");
  if (c.rows > std::numeric_limits<int32_t>::max())
    throw Error(std::string(who) + ": too many centroids (" + std::to_string(c.rows) + ")");
  if (static_cast<int64_t>(c.data.size()) != c.rows * c.cols)
    throw Error(std::string(who) + ": codebook holds " + std::to_string(c.data.size()) +
                " values, expected " + std::to_string(c.rows) + " x " + std::to_string(c.cols));
  for (size_t i = 0; i < c.data.size(); ++i)
    if (!std::isfinite(c.data[i]))
      throw Error(std::string(who) + ": centroid " + std::to_string(i / c.cols) +
                  " holds a NaN or infinite value");
}

}  // namespace

KMeansResult kmeans_fit(const FeatureMatrix& frames, const KMeansOptions& opt) {
  const int64_t n = frames.rows, dim = frames.cols, k = opt.clusters;
  if (k < 1 || k > std::numeric_limits<int32_t>::max())
    throw Error("kmeans_fit: clusters must be in [1, 2^31), got " + std::to_string(k));
  if (dim < 1) throw Error("kmeans_fit: frames have no columns");
  if (static_cast<int64_t>(frames.data.size()) != n * dim)
    throw Error("kmeans_fit: frame matrix holds " + std::to_string(frames.data.size()) +
                " values, expected " + std::to_string(n) + " x " + std::to_string(dim));
  if (n < k)
    throw Error("kmeans_fit: " + std::to_string(n) + " frames for " + std::to_string(k) +
                " clusters; need at least one frame per cluster");
  if (opt.max_iter < 1) throw Error("kmeans_fit: max_iter must be >= 1");
  if (opt.n_init < 1) throw Error("kmeans_fit: n_init must be >= 1");
  if (!(opt.tol >= 0)) throw Error("kmeans_fit: tol must be >= 0");
  if (opt.threads < 0) throw Error("kmeans_fit: threads must be >= 0");
  if (opt.minibatch && opt.batch_size < 1) throw Error("kmeans_fit: batch_size must be >= 1");
  if (opt.minibatch && opt.max_no_improvement < 1)
    throw Error("kmeans_fit: max_no_improvement must be >= 1");
  for (size_t i = 0; i < frames.data.size(); ++i)
    if (!std::isfinite(frames.data[i]))
      throw Error("kmeans_fit: frame " + std::to_string(i / dim) + " (column " +
                  std::to_string(i % dim) + ") holds a NaN or infinite value");

  Pool pool(opt.threads);
  std::vector<float> mean;
  double mean_var = 0;
  moments(frames, &mean, &mean_var);

  RunResult best;
  if (opt.minibatch) {
    best = minibatch(pool, frames, opt, mean);
  } else {
    const double tol_abs = opt.tol * mean_var;
    std::vector<std::vector<float>> inits;  // seeded first, so the centred copy is freed early
    {
      const CentredRows c = centre_rows(frames.data.data(), n, dim, nullptr, mean);
      for (int r = 0; r < opt.n_init; ++r) {
        Rng rng(opt.seed, static_cast<uint64_t>(r));
        inits.push_back(seed(pool, rng, c, k, frames.data.data(), dim, nullptr));
      }
    }
    bool have = false;
    for (int r = 0; r < opt.n_init; ++r) {
      RunResult run = lloyd(pool, frames, k, opt.max_iter, tol_abs, std::move(inits[r]));
      if (!have || run.inertia < best.inertia) {
        best = std::move(run);
        have = true;
      }
    }
  }
  KMeansResult out;
  out.centroids = FeatureMatrix(k, dim);
  out.centroids.data = std::move(best.centers);
  out.inertia = best.inertia;
  out.iterations = best.iterations;
  return out;
}

void kmeans_assign(const FeatureMatrix& centroids, const float* x, int64_t n, int32_t* labels,
                   float* dist2, int threads) {
  check_centroids(centroids, "kmeans_assign");
  if (n < 0) throw Error("kmeans_assign: negative row count");
  if (threads < 0) throw Error("kmeans_assign: threads must be >= 0");
  if (n == 0) return;
  if (!x || !labels) throw Error("kmeans_assign: null frames or labels");
  Pool pool(static_cast<int>(
      std::min<int64_t>(Pool::resolve_threads(threads), chunk_count(n))));
  PackedCentroids pc;
  kmeans_detail::pack_centroids(centroids.data.data(), centroids.rows, centroids.cols, nullptr,
                                16, &pc);
  assign_rows(pool, pc, centroids.data.data(), x, n, labels, dist2, false, "kmeans_assign");
}

double kmeans_inertia(const FeatureMatrix& centroids, const FeatureMatrix& frames, int threads) {
  check_centroids(centroids, "kmeans_inertia");
  if (frames.cols != centroids.cols)
    throw Error("kmeans_inertia: frames have " + std::to_string(frames.cols) +
                " columns but the centroids " + std::to_string(centroids.cols));
  if (static_cast<int64_t>(frames.data.size()) != frames.rows * frames.cols)
    throw Error("kmeans_inertia: frame matrix size does not match its shape");
  if (threads < 0) throw Error("kmeans_inertia: threads must be >= 0");
  if (frames.rows == 0) return 0.0;
  Pool pool(static_cast<int>(
      std::min<int64_t>(Pool::resolve_threads(threads), chunk_count(frames.rows))));
  PackedCentroids pc;
  kmeans_detail::pack_centroids(centroids.data.data(), centroids.rows, centroids.cols, nullptr,
                                16, &pc);
  std::vector<int32_t> labels(static_cast<size_t>(frames.rows));
  return assign_rows(pool, pc, centroids.data.data(), frames.data.data(), frames.rows,
                     labels.data(), nullptr, true, "kmeans_inertia");
}

}  // namespace mert
