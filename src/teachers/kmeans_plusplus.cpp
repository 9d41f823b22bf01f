#include "teachers/kmeans_plusplus.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "teachers/kmeans_kernel.h"

namespace mert::kmeans_detail {

std::vector<int64_t> kmeans_plusplus(const float* xc, int64_t n, int64_t dim, const float* xnorm2,
                                     int64_t k, Rng& rng, Pool& pool) {
  const int64_t trials = 2 + static_cast<int64_t>(std::log(static_cast<double>(k)));
  const int64_t chunks = (n + kChunkRows - 1) / kChunkRows;
  std::vector<float> closest(static_cast<size_t>(n));          // squared distance to nearest centre
  std::vector<double> chunk_sum(static_cast<size_t>(chunks));  // sum of `closest` per chunk
  std::vector<float> cand_closest(static_cast<size_t>(n * trials));  // min(closest, d(., cand t))
  std::vector<double> part(static_cast<size_t>(chunks * trials));    // its chunk sums
  std::vector<int64_t> cand(static_cast<size_t>(trials));
  std::vector<float> cand_rows(static_cast<size_t>(trials * dim));
  std::vector<int64_t> chosen;
  chosen.reserve(static_cast<size_t>(k));
  const std::vector<float> zero(static_cast<size_t>(dim), 0.0f);
  PackedCentroids pc;

  // For candidates cand[0..m): cand_closest[i * trials + t] = min(closest[i], d(i, cand t)) (or
  // just d when `first`), and part[chunk * trials + t] = its chunk sums (row order).
  auto evaluate = [&](int64_t m, bool first) {
    for (int64_t t = 0; t < m; ++t)
      std::memcpy(cand_rows.data() + t * dim, xc + cand[t] * dim, static_cast<size_t>(dim) * sizeof(float));
    pack_centroids(cand_rows.data(), m, dim, zero.data(), m <= 8 ? 8 : 16, &pc);
    pool.parallel_for(chunks, [&](int64_t ch) {
      const int64_t i0 = ch * kChunkRows, i1 = std::min(n, i0 + kChunkRows);
      double* sums = part.data() + ch * trials;
      float* out = cand_closest.data() + i0 * trials;
      candidate_distances(pc, xc + i0 * dim, xnorm2 + i0, first ? nullptr : closest.data() + i0,
                          i1 - i0, out, trials, sums);
      // A candidate's own row is at distance 0 exactly (the expanded form leaves rounding).
      bool fixed = false;
      for (int64_t t = 0; t < m; ++t) {
        if (cand[t] >= i0 && cand[t] < i1 && cand_closest[cand[t] * trials + t] != 0.0f) {
          cand_closest[cand[t] * trials + t] = 0.0f;
          fixed = true;
        }
      }
      if (fixed) {  // re-add in row order so the chunk sums match what sample() walks
        for (int64_t t = 0; t < m; ++t) sums[t] = 0.0;
        for (int64_t i = i0; i < i1; ++i)
          for (int64_t t = 0; t < m; ++t) sums[t] += cand_closest[i * trials + t];
      }
    });
  };

  // Makes candidate t a centre: closest and chunk_sum taken from its evaluation.
  auto accept = [&](int64_t t) {
    chosen.push_back(cand[t]);
    pool.parallel_for(chunks, [&](int64_t ch) {
      const int64_t i0 = ch * kChunkRows, i1 = std::min(n, i0 + kChunkRows);
      for (int64_t i = i0; i < i1; ++i) closest[i] = cand_closest[i * trials + t];
      chunk_sum[ch] = part[ch * trials + t];
    });
    double pot = 0;
    for (double s : chunk_sum) pot += s;
    return pot;
  };

  // Draws a row with probability closest[i] / pot by walking the chunk sums, then the rows of one
  // chunk (summed in the same order as chunk_sum, so the walk always lands in that chunk).
  auto sample = [&](double pot) -> int64_t {
    if (!(pot > 0)) return rng.below(n);  // every row coincides with a centre
    const double target = rng.uniform() * pot;
    double cum = 0;
    for (int64_t c = 0; c < chunks; ++c) {
      if (cum + chunk_sum[c] > target) {
        const int64_t i0 = c * kChunkRows, rows = std::min(kChunkRows, n - i0);
        double local = 0;
        for (int64_t r = 0; r < rows; ++r) {
          local += closest[i0 + r];
          if (cum + local > target) return i0 + r;
        }
      }
      cum += chunk_sum[c];
    }
    for (int64_t i = n - 1; i >= 0; --i)  // target rounded up to pot: last row with weight
      if (closest[i] > 0) return i;
    return n - 1;
  };

  cand[0] = rng.below(n);
  evaluate(1, true);
  double pot = accept(0);

  for (int64_t c = 1; c < k; ++c) {
    for (int64_t t = 0; t < trials; ++t) cand[t] = sample(pot);
    evaluate(trials, false);
    int64_t best = 0;
    double best_pot = 0;
    for (int64_t t = 0; t < trials; ++t) {
      double s = 0;
      for (int64_t ch = 0; ch < chunks; ++ch) s += part[ch * trials + t];
      if (t == 0 || s < best_pot) {
        best_pot = s;
        best = t;
      }
    }
    pot = accept(best);
  }
  return chosen;
}

}  // namespace mert::kmeans_detail
