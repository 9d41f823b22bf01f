#include "model/softmax.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>

#include <vector>

#include "model/simd_avx512.h"

namespace mert {
namespace {

using simd::first_lanes;

// One row in place: max, then e^(x - max) kept in float in `tmp`, then scaled by 1 / sum.
MERT_AVX512 void softmax_row(c10::BFloat16* x, int64_t n, float* tmp) {
  __m512 mx = _mm512_set1_ps(-INFINITY);
  for (int64_t k = 0; k < n; k += 16) mx = _mm512_max_ps(mx, simd::load16(x + k, first_lanes(n - k)));
  const __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(mx));
  __m512 sum = _mm512_setzero_ps();
  for (int64_t k = 0; k < n; k += 16) {
    const __mmask16 lanes = first_lanes(n - k);
    const __m512 e = _mm512_maskz_mov_ps(lanes, simd::exp_of_nonpositive(_mm512_sub_ps(simd::load16(x + k, lanes), m)));
    _mm512_mask_storeu_ps(tmp + k, lanes, e);
    sum = _mm512_add_ps(sum, e);
  }
  const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum));
  for (int64_t k = 0; k < n; k += 16) {
    const __mmask16 lanes = first_lanes(n - k);
    simd::store16(x + k, _mm512_mul_ps(_mm512_maskz_loadu_ps(lanes, tmp + k), inv), lanes);
  }
}

}  // namespace

at::Tensor softmax_last_dim(at::Tensor x) {
  const bool own = x.scalar_type() == at::kBFloat16 && x.device().is_cpu() && x.is_contiguous() && x.dim() > 0 &&
                   x.size(-1) > 0 && !(at::GradMode::is_enabled() && x.requires_grad()) && simd::avx512_available();
  if (!own) return at::softmax(x, -1);
  const int64_t n = x.size(-1), rows = x.numel() / n;
  c10::BFloat16* p = x.data_ptr<c10::BFloat16>();
  at::parallel_for(0, rows, 16, [&](int64_t r0, int64_t r1) {
    std::vector<float> tmp(static_cast<size_t>(n));
    for (int64_t r = r0; r < r1; ++r) softmax_row(p + r * n, n, tmp.data());
  });
  return x;
}

}  // namespace mert
