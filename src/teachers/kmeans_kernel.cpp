#include "teachers/kmeans_kernel.h"

#include <immintrin.h>

#include <cmath>
#include <cstring>
#include <limits>

namespace mert::kmeans_detail {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// Rows per tile for a panel of L lanes: 6 x 16 or 12 x 8 (12 accumulator registers in AVX2).
template <int L>
constexpr int tile_rows() {
  return L == 16 ? 6 : 12;
}

// Copies rows [i0, i0 + R) of x minus the offset into xb[dim][R] (rows past n are zero).
// Returns the first non-finite row in the block, or -1.
template <int R>
int64_t pack_rows(const float* x, int64_t n, int64_t i0, int64_t dim, const float* off,
                  float* xb) {
  int64_t bad = -1;
  for (int r = 0; r < R; ++r) {
    const int64_t i = i0 + r;
    if (i >= n) {
      for (int64_t k = 0; k < dim; ++k) xb[k * R + r] = 0.0f;
      continue;
    }
    const float* xr = x + i * dim;
    float check = 0.0f;  // stays 0 unless some value is NaN or infinite
    for (int64_t k = 0; k < dim; ++k) {
      xb[k * R + r] = xr[k] - off[k];
      check += xr[k] * 0.0f;
    }
    if (check != 0.0f && bad < 0) bad = i;
  }
  return bad;
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
          const float xv = xb[k * R + r];
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

template <int L>
void score_generic(const PackedCentroids& pc, const float* x, int64_t n, float* scores) {
  constexpr int R = tile_rows<L>();
  const int64_t dim = pc.dim, k = pc.k;
  std::vector<float> xb(static_cast<size_t>(dim * R));
  for (int64_t i0 = 0; i0 < n; i0 += R) {
    pack_rows<R>(x, n, i0, dim, pc.offset.data(), xb.data());
    for (int64_t p = 0; p < pc.panels; ++p) {
      const float* cp = pc.data.data() + p * dim * L;
      float acc[R][L] = {};
      for (int64_t kk = 0; kk < dim; ++kk) {
        for (int r = 0; r < R; ++r) {
          const float xv = xb[kk * R + r];
          for (int l = 0; l < L; ++l) acc[r][l] += xv * cp[kk * L + l];
        }
      }
      const float* hn = pc.half_norm2.data() + p * L;
      for (int r = 0; r < R && i0 + r < n; ++r)
        for (int l = 0; l < L && p * L + l < k; ++l)
          scores[(i0 + r) * k + p * L + l] = acc[r][l] - hn[l];
    }
  }
}

// ---------------------------------------------------------------------------------------------
// AVX2 + FMA kernel: NV vectors of 8 lanes per panel.

#define MERT_AVX2 __attribute__((target("avx2,fma")))

template <int R, int NV>
MERT_AVX2 inline void tile_dots_avx2(const float* xb, const float* cp, int64_t dim,
                                     __m256 (&acc)[R][NV]) {
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_setzero_ps();
  for (int64_t k = 0; k < dim; ++k) {
    __m256 c[NV];
    for (int v = 0; v < NV; ++v) c[v] = _mm256_loadu_ps(cp + k * 8 * NV + 8 * v);
    const float* xk = xb + k * R;
    for (int r = 0; r < R; ++r) {
      const __m256 xv = _mm256_broadcast_ss(xk + r);
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_fmadd_ps(xv, c[v], acc[r][v]);
    }
  }
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
MERT_AVX2 void score_avx2(const PackedCentroids& pc, const float* x, int64_t n, float* scores) {
  constexpr int L = 8 * NV;
  constexpr int R = tile_rows<L>();
  const int64_t dim = pc.dim, k = pc.k;
  std::vector<float> xb(static_cast<size_t>(dim * R));
  alignas(32) float out[R][L];
  for (int64_t i0 = 0; i0 < n; i0 += R) {
    pack_rows<R>(x, n, i0, dim, pc.offset.data(), xb.data());
    for (int64_t p = 0; p < pc.panels; ++p) {
      __m256 acc[R][NV];
      tile_dots_avx2<R, NV>(xb.data(), pc.data.data() + p * dim * L, dim, acc);
      for (int v = 0; v < NV; ++v) {
        const __m256 hn = _mm256_loadu_ps(pc.half_norm2.data() + p * L + 8 * v);
        for (int r = 0; r < R; ++r) _mm256_store_ps(&out[r][8 * v], _mm256_sub_ps(acc[r][v], hn));
      }
      const int64_t lanes = std::min<int64_t>(L, k - p * L);
      for (int r = 0; r < R && i0 + r < n; ++r)
        std::memcpy(scores + (i0 + r) * k + p * L, out[r], static_cast<size_t>(lanes) * sizeof(float));
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

void score_rows(const PackedCentroids& pc, const float* x, int64_t n, float* scores) {
  if (n <= 0) return;
  if (kAvx2) {
    if (pc.lanes == 8)
      score_avx2<1>(pc, x, n, scores);
    else
      score_avx2<2>(pc, x, n, scores);
  } else if (pc.lanes == 8) {
    score_generic<8>(pc, x, n, scores);
  } else {
    score_generic<16>(pc, x, n, scores);
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
