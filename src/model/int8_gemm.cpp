// GCC 12 reports the intrinsics headers' deliberately undefined vectors (_mm*_undefined_*) as
// uninitialised once they are inlined here; the warnings are about its own headers.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "model/int8_gemm.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

#include "mert/error.h"
#include "model/simd_avx512.h"

namespace mert {
namespace {

using simd::exp_of_nonpositive;
using simd::first_lanes;
using simd::load16;
using simd::store16;

constexpr int64_t kPanel = 64;  // output columns per packed panel: four 16-lane registers
constexpr int kRows = 6;        // rows per register tile: 6 x 4 accumulators + 4 weight registers

#define MERT_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")))

int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

// ---------------------------------------------------------------------------------------------
// Activations: one row at a time, max |x| then q = round(x * 127 / max) + 128 as bytes. Padding
// bytes hold 128 (a zero) so that they add nothing whatever the weights there are.

template <typename T>
MERT_VNNI float abs_max(const T* x, int64_t n) {
  __m512 amax = _mm512_setzero_ps();
  for (int64_t k = 0; k < n; k += 16) amax = _mm512_max_ps(amax, _mm512_abs_ps(load16(x + k, first_lanes(n - k))));
  return _mm512_reduce_max_ps(amax);
}

// q = round(x * inv) + 128 (round half to even), as bytes.
template <typename T>
MERT_VNNI void quantize(const T* x, int64_t n, float inv, uint8_t* q) {
  const __m512 vinv = _mm512_set1_ps(inv);
  const __m512i lo = _mm512_set1_epi32(-127), hi = _mm512_set1_epi32(127), zero = _mm512_set1_epi32(128);
  for (int64_t k = 0; k < n; k += 16) {
    const __mmask16 m = first_lanes(n - k);
    __m512i v = _mm512_cvtps_epi32(_mm512_mul_ps(load16(x + k, m), vinv));
    v = _mm512_add_epi32(_mm512_min_epi32(_mm512_max_epi32(v, lo), hi), zero);
    _mm_mask_storeu_epi8(q + k, m, _mm512_cvtepi32_epi8(v));
  }
}

// Scale max|x| / 127 (0 for an all-zero input, which then quantizes to zeros).
inline float scale_of(float amax) { return amax > 0 ? amax / 127.0f : 0.0f; }
inline float inverse_of(float amax) { return amax > 0 ? 127.0f / amax : 0.0f; }

template <typename T>
MERT_VNNI void quantize_row(const T* x, int64_t K, int64_t Kp, uint8_t* q, float* scale) {
  const float amax = abs_max(x, K);
  *scale = scale_of(amax);
  quantize(x, K, inverse_of(amax), q);
  for (int64_t k = K; k < Kp; ++k) q[k] = 128;
}

// ---------------------------------------------------------------------------------------------
// The tile: R rows x 64 columns, int32 sums in 4R registers over the whole inner dimension, then
// out = (sum - offset) * row_scale * col_scale + bias, stored as float or bf16.

// Exact GELU, x * (1 + erf(x / sqrt 2)) / 2, with erf from Abramowitz & Stegun 7.1.26 (absolute
// error below 1.5e-7, far under bf16's rounding). For x < 0, 1 + erf(x) = 1 - erf(|x|) is the
// small A&S term itself, with no cancellation against 1.
MERT_VNNI inline __m512 gelu16(__m512 x) {
  const __m512 a = _mm512_mul_ps(_mm512_abs_ps(x), _mm512_set1_ps(0.70710678f));
  const __m512 t = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_fmadd_ps(a, _mm512_set1_ps(0.3275911f), _mm512_set1_ps(1.0f)));
  __m512 p = _mm512_set1_ps(1.061405429f);
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-1.453152027f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.421413741f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-0.284496736f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.254829592f));
  const __m512 tail = _mm512_mul_ps(_mm512_mul_ps(p, t), exp_of_nonpositive(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_mul_ps(a, a))));
  const __mmask16 neg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
  const __m512 one_plus_erf = _mm512_mask_blend_ps(neg, _mm512_sub_ps(_mm512_set1_ps(2.0f), tail), tail);
  return _mm512_mul_ps(_mm512_mul_ps(x, _mm512_set1_ps(0.5f)), one_plus_erf);
}

// What happens to the int32 sums of one 64-column panel: out = (sum - offset) * row_scale *
// col_scale + bias, then GELU if asked.
struct Epilogue {
  const int32_t* offset;
  const float* col_scale;
  const float* bias;
  bool gelu;
};

// The tile: R rows x 64 columns, int32 sums in 4R registers over the whole inner dimension, then
// the epilogue, stored as float or bf16 (round to nearest even, as torch converts).
template <int R, typename T>
MERT_VNNI void tile(const uint8_t* a, int64_t lda, const float* row_scale, const int8_t* b, int64_t K4,
                    const Epilogue& e, T* out, int64_t ldo, int64_t cols) {
  __m512i acc[R][4];
#pragma GCC unroll 24
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) acc[i][j] = _mm512_setzero_si512();
  for (int64_t k = 0; k < K4; ++k) {
    const int8_t* bk = b + k * kPanel * 4;
    const __m512i b0 = _mm512_loadu_si512(bk), b1 = _mm512_loadu_si512(bk + 64);
    const __m512i b2 = _mm512_loadu_si512(bk + 128), b3 = _mm512_loadu_si512(bk + 192);
#pragma GCC unroll 6
    for (int i = 0; i < R; ++i) {
      int32_t word;
      std::memcpy(&word, a + i * lda + 4 * k, 4);
      const __m512i av = _mm512_set1_epi32(word);
      acc[i][0] = _mm512_dpbusd_epi32(acc[i][0], av, b0);
      acc[i][1] = _mm512_dpbusd_epi32(acc[i][1], av, b1);
      acc[i][2] = _mm512_dpbusd_epi32(acc[i][2], av, b2);
      acc[i][3] = _mm512_dpbusd_epi32(acc[i][3], av, b3);
    }
  }
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {
    const int64_t left = cols - 16 * j;
    if (left <= 0) break;
    const __mmask16 m = first_lanes(left);
    const __m512i off = _mm512_loadu_si512(e.offset + 16 * j);
    const __m512 cs = _mm512_loadu_ps(e.col_scale + 16 * j), bs = _mm512_loadu_ps(e.bias + 16 * j);
#pragma GCC unroll 6
    for (int i = 0; i < R; ++i) {
      const __m512 s = _mm512_mul_ps(_mm512_set1_ps(row_scale[i]), cs);
      __m512 f = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(acc[i][j], off)), s, bs);
      if (e.gelu) f = gelu16(f);
      store16(out + i * ldo + 16 * j, f, m);
    }
  }
}

template <typename T>
MERT_VNNI void tile_rows(int rows, const uint8_t* a, int64_t lda, const float* rs, const int8_t* b, int64_t K4,
                         const Epilogue& e, T* out, int64_t ldo, int64_t cols) {
  switch (rows) {
    case 6: return tile<6>(a, lda, rs, b, K4, e, out, ldo, cols);
    case 5: return tile<5>(a, lda, rs, b, K4, e, out, ldo, cols);
    case 4: return tile<4>(a, lda, rs, b, K4, e, out, ldo, cols);
    case 3: return tile<3>(a, lda, rs, b, K4, e, out, ldo, cols);
    case 2: return tile<2>(a, lda, rs, b, K4, e, out, ldo, cols);
    default: return tile<1>(a, lda, rs, b, K4, e, out, ldo, cols);
  }
}

// out[M, w.out] = rows of q (row m at q + m * lda, w.in bytes) times the weight, row m scaled by
// row_scale[m].
template <typename T>
void multiply(const uint8_t* q, int64_t lda, int64_t M, const float* row_scale, const Int8Weight& w, bool gelu,
              T* out) {
  const int64_t K4 = round_up(w.in, 4) / 4, N = w.out, panels = w.packed.size(0);
  // Work items: (panel, block of rows), panel-major, so a thread's consecutive items reuse one
  // panel of weights from its cache while the rows stream past.
  constexpr int64_t kBlock = 16 * kRows;
  const int64_t blocks = (M + kBlock - 1) / kBlock;
  const int8_t* bp = w.packed.data_ptr<int8_t>();
  const int32_t* offp = w.offset.data_ptr<int32_t>();
  const float* csp = w.scale.data_ptr<float>();
  const float* bsp = w.bias.data_ptr<float>();
  at::parallel_for(0, panels * blocks, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t p = t / blocks, m0 = (t % blocks) * kBlock, m1 = std::min(M, m0 + kBlock);
      const int64_t cols = std::min(kPanel, N - p * kPanel);
      const int8_t* b = bp + p * K4 * kPanel * 4;
      const Epilogue e{offp + p * kPanel, csp + p * kPanel, bsp + p * kPanel, gelu};
      for (int64_t m = m0; m < m1; m += kRows) {
        const int rows = static_cast<int>(std::min<int64_t>(kRows, m1 - m));
        tile_rows(rows, q + m * lda, lda, row_scale + m, b, K4, e, out + m * N + p * kPanel, N, cols);
      }
    }
  });
}

// Row m of the product is x[m * step .. m * step + w.in): quantized with its own scale (so
// rows may overlap in x, as a strided conv's do), then multiplied.
template <typename T>
at::Tensor rows_times_weight(const T* x, int64_t M, int64_t step, const Int8Weight& w, bool gelu,
                             const at::TensorOptions& opts) {
  const int64_t K = w.in, Kp = round_up(K, 4);
  auto q = at::empty({M, Kp}, at::kByte);
  auto rs = at::empty({M}, at::kFloat);
  auto out = at::empty({M, w.out}, opts);
  uint8_t* qp = q.data_ptr<uint8_t>();
  float* rsp = rs.data_ptr<float>();
  at::parallel_for(0, M, 16, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) quantize_row(x + r * step, K, Kp, qp + r * Kp, rsp + r);
  });
  multiply(qp, Kp, M, rsp, w, gelu, out.data_ptr<T>());
  return out;
}

}  // namespace

bool int8_vnni_available() {
  static const bool ok = simd::avx512_available() && __builtin_cpu_supports("avx512vnni");
  return ok;
}

bool int8_vnni_enabled() {
  static const bool yes = [] {
    const char* env = std::getenv("MERT_INT8_KERNEL");
    return int8_vnni_available() && !(env && std::string(env) == "libtorch");
  }();
  return yes;
}

Int8Weight pack_int8_weight(const at::Tensor& weight, const at::Tensor& bias) {
  if (weight.dim() != 2) throw Error("int8 weight must be [out, in]");
  const int64_t N = weight.size(0), K = weight.size(1);
  const int64_t Np = round_up(N, kPanel), Kp = round_up(K, 4), panels = Np / kPanel;
  const at::Tensor w = weight.detach().to(at::kCPU, at::kFloat).contiguous();
  const at::Tensor scale = (w.abs().amax(1) / 127.0f).clamp_min(1e-12f);
  // Same rounding as torch's quantize_per_channel: nearest, ties to even.
  at::Tensor q = at::clamp(at::round(w / scale.unsqueeze(1)), -127, 127).to(at::kChar);
  q = at::constant_pad_nd(q, {0, Kp - K, 0, Np - N});  // [Np, Kp]
  Int8Weight out;
  out.in = K;
  out.out = N;
  // [Np, Kp] -> [panels, 64, K4, 4] -> [panels, K4, 64, 4]
  out.packed = q.view({panels, kPanel, Kp / 4, 4}).permute({0, 2, 1, 3}).contiguous();
  out.offset = (q.to(at::kInt).sum(1) * 128).to(at::kInt).contiguous();
  out.scale = at::constant_pad_nd(scale, {0, Np - N}, 1.0).contiguous();
  out.bias = bias.defined() ? at::constant_pad_nd(bias.detach().to(at::kCPU, at::kFloat), {0, Np - N}).contiguous()
                            : at::zeros({Np}, at::kFloat);
  return out;
}

at::Tensor int8_linear(const at::Tensor& x, const Int8Weight& w, bool gelu) {
  if (!int8_vnni_available()) throw Error("the int8 kernel needs AVX-512 VNNI");
  if (!x.device().is_cpu()) throw Error("the int8 kernel runs on the CPU only");
  if (x.size(-1) != w.in)
    throw Error("int8 layer expects " + std::to_string(w.in) + " input features, got " + std::to_string(x.size(-1)));
  const auto dtype = x.scalar_type();
  if (dtype != at::kFloat && dtype != at::kBFloat16) throw Error("int8 kernel input must be float32 or bf16");
  const at::Tensor x2 = x.reshape({-1, w.in}).contiguous();
  const int64_t M = x2.size(0);
  at::Tensor out = dtype == at::kFloat ? rows_times_weight(x2.data_ptr<float>(), M, w.in, w, gelu, x2.options())
                                       : rows_times_weight(x2.data_ptr<at::BFloat16>(), M, w.in, w, gelu, x2.options());
  auto shape = x.sizes().vec();
  shape.back() = w.out;
  return out.view(shape);
}

}  // namespace mert

namespace mert {

at::Tensor int8_conv_frames(const at::Tensor& x, const Int8Weight& w, int64_t kernel, int64_t stride, bool gelu) {
  if (!int8_vnni_available()) throw Error("the int8 kernel needs AVX-512 VNNI");
  if (!x.device().is_cpu()) throw Error("the int8 kernel runs on the CPU only");
  if (x.dim() != 2 || x.size(1) * kernel != w.in || x.size(1) % 4 != 0 || stride < 1)
    throw Error("int8 conv: input must be [frames, channels] with channels * kernel = " + std::to_string(w.in) +
                " and channels a multiple of 4");
  const auto dtype = x.scalar_type();
  if (dtype != at::kFloat && dtype != at::kBFloat16) throw Error("int8 kernel input must be float32 or bf16");
  if (x.size(0) < kernel) return at::empty({0, w.out}, x.options());
  const at::Tensor xc = x.contiguous();
  const int64_t n = (x.size(0) - kernel) / stride + 1, step = stride * x.size(1);
  return dtype == at::kFloat ? rows_times_weight(xc.data_ptr<float>(), n, step, w, gelu, x.options())
                             : rows_times_weight(xc.data_ptr<at::BFloat16>(), n, step, w, gelu, x.options());
}

Int8Weight pack_int8_conv_weight(const at::Tensor& conv_weight, const at::Tensor& bias) {
  if (conv_weight.dim() != 3) throw Error("int8 conv weight must be [out, in, kernel]");
  // Input row t of the product is frames s*t .. s*t+k-1 back to back: (tap, channel) order.
  return pack_int8_weight(conv_weight.permute({0, 2, 1}).reshape({conv_weight.size(0), -1}), bias);
}

}  // namespace mert
