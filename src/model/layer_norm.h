#pragma once
// LayerNorm applied in its parameters' dtype. Under bf16 autocast (pre-training with
// --dtype bf16) activations arrive in bfloat16 while the parameters stay float32, and libtorch
// 1.13's CPU autocast does not cover layer_norm, which then refuses the mix. Normalising in
// float32 is also what mixed precision wants for reductions. A no-op cast otherwise.
#include <torch/nn/modules/normalization.h>

namespace mert {

// LayerNorm over the last dimensions computed in float32 and returned in x's dtype. For bf16
// this is faster and more accurate than libtorch 1.13's bf16 layer_norm kernel (1.0-1.7 vs
// 0.12-0.16 ms for 374x768: bench/kernel_microbench.py).
inline at::Tensor layer_norm_in_float(const at::Tensor& x, at::IntArrayRef shape, const at::Tensor& weight,
                                      const at::Tensor& bias, double eps) {
  if (x.scalar_type() == at::kFloat) return at::layer_norm(x, shape, weight, bias, eps);
  return at::layer_norm(x.to(at::kFloat), shape, weight.to(at::kFloat),
                        bias.defined() ? bias.to(at::kFloat) : at::Tensor(), eps)
      .to(x.scalar_type());
}

inline at::Tensor layer_norm_in_param_dtype(torch::nn::LayerNorm& ln, const at::Tensor& x) {
  const auto dtype = ln->weight.scalar_type();
  if (dtype == at::kBFloat16 && x.scalar_type() == at::kBFloat16)  // a bf16 model
    return layer_norm_in_float(x, ln->options.normalized_shape(), ln->weight, ln->bias, ln->options.eps());
  return ln->forward(x.scalar_type() == dtype ? x : x.to(dtype));
}

}  // namespace mert
