#pragma once
// A strided 1-D convolution evaluated on time-major activations ([frames, channels]) as matrix
// products, for inference. Output frame t reads input rows s*t .. s*t+k-1, i.e. one contiguous
// run of k*C values. Splitting the k taps into groups of at most s taps turns each group into
// a strided matrix view (row stride s*C, at least its width), which BLAS reads in place, so the
// convolution costs ceil(k/s) GEMMs and no im2col copy. Narrow inputs (layer 0 reads raw samples,
// C=1) are cheaper to copy into one [frames, k*C] patch matrix and multiply once.
// In bf16 the wide layers go to oneDNN's conv instead, on the same time-major memory seen as a
// channels-last image: it accumulates in float32 across all taps and ran 10-25% faster than
// the bf16 GEMMs here; in fp32 the GEMMs beat that conv by 1.5x and more
// (bench/kernel_microbench.py).
#include <ATen/core/Tensor.h>

#include "model/int8_gemm.h"

namespace mert {

struct ConvGemm {
  int64_t kernel = 0, stride = 0, in_ch = 0;
  at::Tensor weight;        // [k*C_in, C_out], rows ordered (tap, input channel): the GEMM routes
  at::Tensor image_weight;  // [C_out, C_in, 1, k] channels-last: the bf16 oneDNN route
  at::Tensor bias;          // [C_out] or undefined
  Int8Weight int8;          // the int8 route (bias inside), when the layer has been quantized

  // conv_weight: [C_out, C_in, k] as torch's Conv1d stores it.
  static ConvGemm from_conv(const at::Tensor& conv_weight, const at::Tensor& bias, int64_t stride);
  // A layer quantized with pack_int8_conv_weight (model/int8_gemm.h).
  static ConvGemm from_int8(const Int8Weight& w, int64_t kernel, int64_t stride);
  // Frames out of n_in input frames (torch's Conv1d without padding).
  int64_t out_frames(int64_t n_in) const { return n_in < kernel ? 0 : (n_in - kernel) / stride + 1; }
  // Few enough inputs per output frame (layer 0: 10 samples) for one copied patch matrix.
  bool narrow() const { return kernel * in_ch <= 64; }
  // x: [n_in, C_in] in the weights' dtype; returns [out_frames(n_in), C_out].
  at::Tensor forward(const at::Tensor& x) const;
  // GELU(forward(x)), in place; the int8 route applies it before rounding, in the same pass.
  at::Tensor forward_gelu(const at::Tensor& x) const;
};

}  // namespace mert
