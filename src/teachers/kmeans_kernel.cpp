#include "teachers/kmeans_kernel.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace mert::kmeans_detail {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// Rows per tile for a panel of L lanes: 6 x 16 or 8 x 8, so that accumulators, the centroid
// vectors and the per-panel constants fit in the 16 AVX2 registers without spills.
template <int L>
constexpr int tile_rows() {
  return L == 16 ? 6 : 8;
}

// Copies rows [i0, i0 + R) of x minus the offset into xb[R][dim] (rows past n are zero).
// Returns the first row in the block holding a NaN or infinity, or -1. The finiteness test looks
// at the exponent bits with integer ops, so the loop vectorises.
template <int R>
int64_t pack_rows(const float* x, int64_t n, int64_t i0, int64_t dim, const float* off,
                  float* xb) {
  int64_t bad = -1;
  for (int r = 0; r < R; ++r) {
    const int64_t i = i0 + r;
    float* dst = xb + r * dim;
    if (i >= n) {
      std::memset(dst, 0, static_cast<size_t>(dim) * sizeof(float));
      continue;
    }
    const float* xr = x + i * dim;
    uint32_t nonfinite = 0;
    for (int64_t k = 0; k < dim; ++k) {
      uint32_t bits;
      std::memcpy(&bits, xr + k, sizeof bits);
      nonfinite |= static_cast<uint32_t>((bits & 0x7f800000u) == 0x7f800000u);
      dst[k] = xr[k] - off[k];
    }
    if (nonfinite && bad < 0) bad = i;
  }
  return bad;
}

// The R rows of a score tile: read in place when no offset applies and the block is full,
// otherwise packed into xb.
template <int R>
const float* rows_for_scores(const PackedCentroids& pc, const float* x, int64_t n, int64_t i0,
                             float* xb) {
  if (pc.zero_offset && i0 + R <= n) return x + i0 * pc.dim;
  pack_rows<R>(x, n, i0, pc.dim, pc.offset.data(), xb);
  return xb;
}

// Picks the best lane of one row: smallest value, ties to the lowest centroid index.
template <int L>
int32_t reduce_lanes(const float* v, const int32_t* idx) {
  float best = v[0];
  int32_t arg = idx[0];
  for (int l = 1; l < L; ++l) {
    if (v[l] < best || (v[l] == best && idx[l] < arg)) {
      best = v[l];
      arg = idx[l];
    }
  }
  return arg;
}

// ---------------------------------------------------------------------------------------------
// Portable kernel (no FMA, auto-vectorised by the compiler).

template <int L>
int64_t nearest_generic(const PackedCentroids& pc, const float* x, int64_t n, int32_t* labels) {
  constexpr int R = tile_rows<L>();
  const int64_t dim = pc.dim;
  std::vector<float> xb(static_cast<size_t>(dim * R));
  int64_t bad = -1;
  for (int64_t i0 = 0; i0 < n; i0 += R) {
    const int64_t b = pack_rows<R>(x, n, i0, dim, pc.offset.data(), xb.data());
    if (b >= 0 && bad < 0) bad = b;
    float bv[R][L];
    int32_t bi[R][L];
    for (int r = 0; r < R; ++r)
      for (int l = 0; l < L; ++l) {
        bv[r][l] = kInf;
        bi[r][l] = l;
      }
    for (int64_t p = 0; p < pc.panels; ++p) {
      const float* cp = pc.data.data() + p * dim * L;
      float acc[R][L] = {};
      for (int64_t k = 0; k < dim; ++k) {
        for (int r = 0; r < R; ++r) {
          const float xv = xb[r * dim + k];
          for (int l = 0; l < L; ++l) acc[r][l] += xv * cp[k * L + l];
        }
      }
      const float* hn = pc.half_norm2.data() + p * L;
      for (int r = 0; r < R; ++r)
        for (int l = 0; l < L; ++l) {
          const float val = hn[l] - acc[r][l];
          if (val < bv[r][l]) {
            bv[r][l] = val;
            bi[r][l] = static_cast<int32_t>(p * L + l);
          }
        }
    }
    for (int r = 0; r < R && i0 + r < n; ++r) labels[i0 + r] = reduce_lanes<L>(bv[r], bi[r]);
  }
  return bad;
}

// out[i * stride + t] = min(cap[i], max(0, xnorm2[i] - 2 score_it)) for t < k; sums[t] += out in
// row order.
template <int L>
void candidates_generic(const PackedCentroids& pc, const float* x, const float* xnorm2,
                        const float* cap, int64_t n, float* out, int64_t stride, double* sums) {
  constexpr int R = tile_rows<L>();
  const int64_t dim = pc.dim, k = pc.k;
  std::vector<float> xb(static_cast<size_t>(dim * R));
  for (int64_t i0 = 0; i0 < n; i0 += R) {
    const float* rows = rows_for_scores<R>(pc, x, n, i0, xb.data());
    for (int64_t p = 0; p < pc.panels; ++p) {
      const float* cp = pc.data.data() + p * dim * L;
      float acc[R][L] = {};
      for (int64_t kk = 0; kk < dim; ++kk) {
        for (int r = 0; r < R; ++r) {
          const float xv = rows[r * dim + kk];
          for (int l = 0; l < L; ++l) acc[r][l] += xv * cp[kk * L + l];
        }
      }
      const float* hn = pc.half_norm2.data() + p * L;
      const int64_t lanes = std::min<int64_t>(L, k - p * L);
      for (int r = 0; r < R && i0 + r < n; ++r) {
        const int64_t i = i0 + r;
        for (int64_t l = 0; l < lanes; ++l) {
          float d = std::max(0.0f, xnorm2[i] - 2.0f * (acc[r][l] - hn[l]));
          if (cap) d = std::min(d, cap[i]);
          out[i * stride + p * L + l] = d;
          sums[p * L + l] += d;
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// AVX2 + FMA kernel: NV vectors of 8 lanes per panel.

#define MERT_AVX2 __attribute__((target("avx2,fma")))

// acc[r][v] = sum_k xb[r][k] * panel[k][8v..8v+8): the accumulators live in registers for the
// whole k loop (fully unrolled over r and v so the compiler keeps them out of memory), and are
// written to `acc` once at the end.
template <int R, int NV>
MERT_AVX2 inline void tile_dots_avx2(const float* xb, const float* cp, int64_t dim,
                                     __m256 (&acc)[R][NV]) {
  __m256 a[R * NV];
#pragma GCC unroll 16
  for (int q = 0; q < R * NV; ++q) a[q] = _mm256_setzero_ps();
  for (int64_t k = 0; k < dim; ++k) {
    __m256 c[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) c[v] = _mm256_loadu_ps(cp + k * 8 * NV + 8 * v);
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const __m256 xv = _mm256_broadcast_ss(xb + r * dim + k);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) a[r * NV + v] = _mm256_fmadd_ps(xv, c[v], a[r * NV + v]);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[r][v] = a[r * NV + v];
}

template <int NV>
MERT_AVX2 int64_t nearest_avx2(const PackedCentroids& pc, const float* x, int64_t n,
                               int32_t* labels) {
  constexpr int L = 8 * NV;
  constexpr int R = tile_rows<L>();
  const int64_t dim = pc.dim;
  std::vector<float> xb(static_cast<size_t>(dim * R));
  alignas(32) float bvs[R][L];
  alignas(32) int32_t bis[R][L];
  const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  int64_t bad = -1;
  for (int64_t i0 = 0; i0 < n; i0 += R) {
    const int64_t b = pack_rows<R>(x, n, i0, dim, pc.offset.data(), xb.data());
    if (b >= 0 && bad < 0) bad = b;
    __m256 bv[R][NV];
    __m256i bi[R][NV];
    for (int r = 0; r < R; ++r)
      for (int v = 0; v < NV; ++v) {
        bv[r][v] = _mm256_set1_ps(kInf);
        bi[r][v] = _mm256_add_epi32(iota, _mm256_set1_epi32(8 * v));
      }
    for (int64_t p = 0; p < pc.panels; ++p) {
      __m256 acc[R][NV];
      tile_dots_avx2<R, NV>(xb.data(), pc.data.data() + p * dim * L, dim, acc);
      __m256 hn[NV];
      __m256 idx[NV];
      for (int v = 0; v < NV; ++v) {
        hn[v] = _mm256_loadu_ps(pc.half_norm2.data() + p * L + 8 * v);
        idx[v] = _mm256_castsi256_ps(
            _mm256_add_epi32(iota, _mm256_set1_epi32(static_cast<int>(p * L + 8 * v))));
      }
      for (int r = 0; r < R; ++r)
        for (int v = 0; v < NV; ++v) {
          const __m256 val = _mm256_sub_ps(hn[v], acc[r][v]);
          const __m256 lt = _mm256_cmp_ps(val, bv[r][v], _CMP_LT_OQ);
          bv[r][v] = _mm256_blendv_ps(bv[r][v], val, lt);
          bi[r][v] = _mm256_castps_si256(
              _mm256_blendv_ps(_mm256_castsi256_ps(bi[r][v]), idx[v], lt));
        }
    }
    for (int r = 0; r < R; ++r)
      for (int v = 0; v < NV; ++v) {
        _mm256_store_ps(&bvs[r][8 * v], bv[r][v]);
        _mm256_store_si256(reinterpret_cast<__m256i*>(&bis[r][8 * v]), bi[r][v]);
      }
    for (int r = 0; r < R && i0 + r < n; ++r) labels[i0 + r] = reduce_lanes<L>(bvs[r], bis[r]);
  }
  return bad;
}

template <int NV>
MERT_AVX2 void candidates_avx2(const PackedCentroids& pc, const float* x, const float* xnorm2,
                               const float* cap, int64_t n, float* out, int64_t stride,
                               double* sums) {
  constexpr int L = 8 * NV;
  constexpr int R = tile_rows<L>();
  const int64_t dim = pc.dim, k = pc.k;
  std::vector<float> xb(static_cast<size_t>(dim * R));
  const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256 zero = _mm256_setzero_ps(), two = _mm256_set1_ps(2.0f);
  for (int64_t p = 0; p < pc.panels; ++p) {
    const float* cp = pc.data.data() + p * dim * L;
    __m256 hn[NV];
    __m256i mask[NV];
    __m256d sum[NV][2];
    for (int v = 0; v < NV; ++v) {
      hn[v] = _mm256_loadu_ps(pc.half_norm2.data() + p * L + 8 * v);
      const int valid = static_cast<int>(std::min<int64_t>(8, std::max<int64_t>(0, k - p * L - 8 * v)));
      mask[v] = _mm256_cmpgt_epi32(_mm256_set1_epi32(valid), iota);
      sum[v][0] = _mm256_setzero_pd();
      sum[v][1] = _mm256_setzero_pd();
    }
    for (int64_t i0 = 0; i0 < n; i0 += R) {
      const float* rows = rows_for_scores<R>(pc, x, n, i0, xb.data());
      __m256 acc[R][NV];
      tile_dots_avx2<R, NV>(rows, cp, dim, acc);
      const int rn = static_cast<int>(std::min<int64_t>(R, n - i0));
      for (int r = 0; r < rn; ++r) {
        const int64_t i = i0 + r;
        const __m256 xn = _mm256_set1_ps(xnorm2[i]);
        for (int v = 0; v < NV; ++v) {
          __m256 d = _mm256_max_ps(zero, _mm256_fnmadd_ps(two, _mm256_sub_ps(acc[r][v], hn[v]), xn));
          if (cap) d = _mm256_min_ps(d, _mm256_set1_ps(cap[i]));
          _mm256_maskstore_ps(out + i * stride + p * L + 8 * v, mask[v], d);
          d = _mm256_and_ps(d, _mm256_castsi256_ps(mask[v]));  // padding lanes add 0
          sum[v][0] = _mm256_add_pd(sum[v][0], _mm256_cvtps_pd(_mm256_castps256_ps128(d)));
          sum[v][1] = _mm256_add_pd(sum[v][1], _mm256_cvtps_pd(_mm256_extractf128_ps(d, 1)));
        }
      }
    }
    for (int v = 0; v < NV; ++v) {
      alignas(32) double s[8];
      _mm256_store_pd(s, sum[v][0]);
      _mm256_store_pd(s + 4, sum[v][1]);
      for (int l = 0; l < 8 && p * L + 8 * v + l < k; ++l) sums[p * L + 8 * v + l] += s[l];
    }
  }
}

#undef MERT_AVX2

bool detect_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

const bool kCpuAvx2 = detect_avx2();
bool kAvx2 = kCpuAvx2;

}  // namespace

bool kernel_uses_avx2() { return kAvx2; }

bool set_kernel_avx2(bool enabled) {
  const bool previous = kAvx2;
  kAvx2 = enabled && kCpuAvx2;
  return previous;
}

void pack_centroids(const float* c, int64_t k, int64_t dim, const float* offset, int lanes,
                    PackedCentroids* out) {
  PackedCentroids& pc = *out;
  pc.k = k;
  pc.dim = dim;
  pc.lanes = lanes == 8 ? 8 : 16;
  const int L = pc.lanes;
  pc.panels = (k + L - 1) / L;
  pc.offset.assign(static_cast<size_t>(dim), 0.0f);
  if (offset) {
    pc.offset.assign(offset, offset + dim);
  } else if (k > 0) {
    for (int64_t d = 0; d < dim; ++d) {
      double s = 0;
      for (int64_t j = 0; j < k; ++j) s += c[j * dim + d];
      pc.offset[d] = static_cast<float>(s / static_cast<double>(k));
    }
  }
  pc.zero_offset = std::all_of(pc.offset.begin(), pc.offset.end(), [](float v) { return v == 0.0f; });
  pc.data.assign(static_cast<size_t>(pc.panels * dim * L), 0.0f);
  pc.half_norm2.assign(static_cast<size_t>(pc.panels * L), kInf);
  for (int64_t j = 0; j < k; ++j) {
    const int64_t p = j / L, l = j % L;
    float* dst = pc.data.data() + p * dim * L + l;
    double norm2 = 0;
    for (int64_t d = 0; d < dim; ++d) {
      const float v = c[j * dim + d] - pc.offset[d];
      dst[d * L] = v;
      norm2 += static_cast<double>(v) * v;
    }
    pc.half_norm2[static_cast<size_t>(j)] = static_cast<float>(0.5 * norm2);
  }
}

int64_t nearest_rows(const PackedCentroids& pc, const float* x, int64_t n, int32_t* labels) {
  if (n <= 0) return -1;
  if (kAvx2) return pc.lanes == 8 ? nearest_avx2<1>(pc, x, n, labels) : nearest_avx2<2>(pc, x, n, labels);
  return pc.lanes == 8 ? nearest_generic<8>(pc, x, n, labels) : nearest_generic<16>(pc, x, n, labels);
}

void candidate_distances(const PackedCentroids& pc, const float* x, const float* xnorm2,
                         const float* cap, int64_t n, float* out, int64_t stride, double* sums) {
  for (int64_t t = 0; t < pc.k; ++t) sums[t] = 0.0;
  if (n <= 0) return;
  if (kAvx2) {
    if (pc.lanes == 8)
      candidates_avx2<1>(pc, x, xnorm2, cap, n, out, stride, sums);
    else
      candidates_avx2<2>(pc, x, xnorm2, cap, n, out, stride, sums);
  } else if (pc.lanes == 8) {
    candidates_generic<8>(pc, x, xnorm2, cap, n, out, stride, sums);
  } else {
    candidates_generic<16>(pc, x, xnorm2, cap, n, out, stride, sums);
  }
}

double squared_distance(const float* a, const float* b, int64_t dim) {
  double s = 0;
  for (int64_t d = 0; d < dim; ++d) {
    const double diff = static_cast<double>(a[d]) - static_cast<double>(b[d]);
    s += diff * diff;
  }
  return s;
}

}  // namespace mert::kmeans_detail
