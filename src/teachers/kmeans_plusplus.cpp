#include "teachers/kmeans_plusplus.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "teachers/kmeans_kernel.h"

namespace mert::kmeans_detail {

void kmeans_plusplus(const float* x, int64_t n, int64_t dim, const float* mean,
                     const float* xnorm2, int64_t k, Rng& rng, Pool& pool, float* centers) {
  const int64_t trials = 2 + static_cast<int64_t>(std::log(static_cast<double>(k)));
  const int64_t chunks = (n + kChunkRows - 1) / kChunkRows;
  std::vector<float> closest(static_cast<size_t>(n));     // squared distance to nearest centre
  std::vector<double> chunk_sum(static_cast<size_t>(chunks));  // sum of `closest` per chunk
  std::vector<double> part(static_cast<size_t>(chunks * trials));
  std::vector<int64_t> cand(static_cast<size_t>(trials));
  std::vector<float> cand_rows(static_cast<size_t>(trials * dim));
  PackedCentroids pc;

  // Squared distance of row i to a packed candidate, from its score (clamped: rounding of the
  // expanded form can go slightly negative).
  auto dist = [&](int64_t i, float score) { return std::max(0.0f, xnorm2[i] - 2.0f * score); };

  // Adds centre `id` to the chosen set: closest = min(closest, d(., id)), chunk sums refreshed.
  auto add_centre = [&](int64_t id, bool first) {
    pack_centroids(x + id * dim, 1, dim, mean, 8, &pc);
    pool.parallel_for(chunks, [&](int64_t c) {
      const int64_t i0 = c * kChunkRows, rows = std::min(kChunkRows, n - i0);
      static thread_local std::vector<float> scores;
      scores.resize(static_cast<size_t>(rows));
      score_rows(pc, x + i0 * dim, rows, scores.data());
      double s = 0;
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t i = i0 + r;
        float d = i == id ? 0.0f : dist(i, scores[r]);
        if (!first) d = std::min(d, closest[i]);
        closest[i] = d;
        s += d;
      }
      chunk_sum[c] = s;
    });
    double pot = 0;
    for (double s : chunk_sum) pot += s;
    return pot;
  };

  // Draws a row with probability closest[i] / pot by walking the chunk sums, then the rows of one
  // chunk (with the same summation order as chunk_sum, so the walk always lands in that chunk).
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

  int64_t first = rng.below(n);
  std::memcpy(centers, x + first * dim, static_cast<size_t>(dim) * sizeof(float));
  double pot = add_centre(first, true);

  for (int64_t c = 1; c < k; ++c) {
    for (int64_t t = 0; t < trials; ++t) {
      cand[t] = sample(pot);
      std::memcpy(cand_rows.data() + t * dim, x + cand[t] * dim, static_cast<size_t>(dim) * sizeof(float));
    }
    pack_centroids(cand_rows.data(), trials, dim, mean, trials <= 8 ? 8 : 16, &pc);
    pool.parallel_for(chunks, [&](int64_t ch) {
      const int64_t i0 = ch * kChunkRows, rows = std::min(kChunkRows, n - i0);
      static thread_local std::vector<float> scores;
      static thread_local std::vector<double> acc;
      scores.resize(static_cast<size_t>(rows * trials));
      acc.assign(static_cast<size_t>(trials), 0.0);
      score_rows(pc, x + i0 * dim, rows, scores.data());
      for (int64_t r = 0; r < rows; ++r) {
        const float cl = closest[i0 + r];
        const float* sr = scores.data() + r * trials;
        for (int64_t t = 0; t < trials; ++t) acc[t] += std::min(cl, dist(i0 + r, sr[t]));
      }
      std::copy(acc.begin(), acc.end(), part.begin() + ch * trials);
    });
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
    std::memcpy(centers + c * dim, x + cand[best] * dim, static_cast<size_t>(dim) * sizeof(float));
    pot = add_centre(cand[best], false);
  }
}

}  // namespace mert::kmeans_detail
