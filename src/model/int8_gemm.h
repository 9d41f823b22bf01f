#pragma once
// The int8 Linear product on AVX-512 VNNI: weights quantized once, symmetric per output channel,
// and packed in the order the kernel reads them; activations quantized per row (per token) on
// every call. One pass quantizes the input, one kernel multiplies (vpdpbusd, int32 sums) and
// writes the dequantized, biased result straight into the caller's dtype (float32 or bf16).
//
// VNNI multiplies unsigned by signed bytes, so a row's int8 values q are stored as q + 128; the
// extra 128 * sum_k w[n][k] is a per-column constant taken off after the sums.
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace mert {

// A [out, in] weight packed for int8_linear. Columns are padded to panels of 64, the inner
// dimension to a multiple of 4 (with zero weights).
struct Int8Weight {
  at::Tensor packed;  // int8 [panels][in4][64][4]: byte r of (column j, step k) = w[64p + j][4k + r]
  at::Tensor scale;   // float [out_padded]: weight scale of each output channel
  at::Tensor offset;  // int32 [out_padded]: 128 * sum_k q[n][k], taken off every sum
  at::Tensor bias;    // float [out_padded] (zeros when the layer has none)
  int64_t in = 0, out = 0;
  bool defined() const { return packed.defined(); }
};

// Whether this CPU runs the kernel (AVX-512 F/BW/VL + VNNI).
bool int8_vnni_available();
// Whether the int8 compute dtype uses it: available, and MERT_INT8_KERNEL is not "libtorch"
// (which keeps libtorch's dynamic int8 product for the Linear layers and a bf16 conv front end).
bool int8_vnni_enabled();

// Quantizes `weight` ([out, in], any float dtype) to int8 per output channel (scale max|w| / 127)
// and packs it; `bias` may be undefined.
Int8Weight pack_int8_weight(const at::Tensor& weight, const at::Tensor& bias);

// x [..., in] (float32 or bf16, CPU) times the weight's transpose plus bias, in x's dtype; with
// `gelu`, the exact (erf) GELU of that, applied before rounding to x's dtype. Each row of x is
// quantized with scale max|row| / 127 (round half to even). Needs int8_vnni_available().
at::Tensor int8_linear(const at::Tensor& x, const Int8Weight& w, bool gelu = false);

// A strided 1-D convolution on time-major frames: x [n_in, C] (C a multiple of 4), output frame t
// reads frames stride*t .. stride*t+kernel-1, which are one contiguous run of kernel*C values, so
// each is quantized as one row of the product with its own scale (a frame read by two output
// frames is quantized twice). Returns [(n_in - kernel) / stride + 1, out] in x's dtype.
at::Tensor int8_conv_frames(const at::Tensor& x, const Int8Weight& w, int64_t kernel, int64_t stride,
                            bool gelu = false);
// A Conv1d weight [out, in, kernel] packed for int8_conv_frames.
Int8Weight pack_int8_conv_weight(const at::Tensor& conv_weight, const at::Tensor& bias);

}  // namespace mert
