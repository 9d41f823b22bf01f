#pragma once
// The nearest-centroid kernel of k-means. Centroids are packed into panels of `lanes` centroids
// stored [dim][lanes], together with 0.5*||c - o||^2, where o is an offset subtracted from both
// rows and centroids (the mean of the centroids: it shrinks ||x||, ||c|| and with them the float
// cancellation of the expanded distance). A register-blocked tile of R rows x one panel
// accumulates x.c with FMAs; score = x.c - 0.5||c||^2, so the nearest centroid has the largest
// score and ||x - c||^2 = ||x||^2 - 2 score. The argmin is fused into the tile loop (no distance
// matrix is written). Ties go to the lowest centroid index. Every row is computed the same way
// wherever it falls in a block, so labels do not depend on blocking or threads.
// AVX2+FMA is used when the CPU has it (runtime dispatch), otherwise a portable loop.
#include <cstdint>
#include <vector>

namespace mert::kmeans_detail {

struct PackedCentroids {
  int64_t k = 0;
  int64_t dim = 0;
  int lanes = 16;                  // centroids per panel: 8 or 16
  int64_t panels = 0;
  std::vector<float> offset;       // [dim], subtracted from rows and centroids
  bool zero_offset = false;        // offset all zero: rows can be read in place
  std::vector<float> data;         // [panels][dim][lanes]; padding lanes are 0
  std::vector<float> half_norm2;   // [panels * lanes]; padding lanes +inf
};

// Packs k centroids (row-major [k, dim]) with the given offset[dim], or with the mean of the
// centroids when offset is null. lanes: 8 or 16.
void pack_centroids(const float* c, int64_t k, int64_t dim, const float* offset, int lanes,
                    PackedCentroids* out);

// labels[i] = index of the nearest centroid to row i of x ([n, dim]). Returns the index of the
// first row holding a NaN or infinity (its label is unspecified), or -1 if all are finite.
int64_t nearest_rows(const PackedCentroids& pc, const float* x, int64_t n, int32_t* labels);

// k-means++ candidates (pc: the k candidates, packed with offset 0, so rows x are centred):
// out[i * stride + t] = max(0, ||x_i||^2 - 2 x_i.c_t + ||c_t||^2), lowered to cap[i] when cap is
// given, for t < k; sums[t] = the sum of those values over the rows, in row order (double).
// xnorm2[i] = ||x_i||^2. Rows are not checked for NaN (k-means++ runs on validated frames).
void candidate_distances(const PackedCentroids& pc, const float* x, const float* xnorm2,
                         const float* cap, int64_t n, float* out, int64_t stride, double* sums);

// ||a - b||^2 over dim floats, computed in double in a fixed order.
double squared_distance(const float* a, const float* b, int64_t dim);

// True when the AVX2+FMA kernel is in use (for benchmarks and logs).
bool kernel_uses_avx2();

// Tests: enable/disable the AVX2 kernel (enabling has no effect without CPU support); returns
// the previous state. Not thread-safe against running k-means.
bool set_kernel_avx2(bool enabled);

}  // namespace mert::kmeans_detail
