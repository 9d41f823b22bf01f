#pragma once
// LayerNorm applied in its parameters' dtype. Under bf16 autocast (pre-training with
// --dtype bf16) activations arrive in bfloat16 while the parameters stay float32, and libtorch
// 1.13's CPU autocast does not cover layer_norm, which then refuses the mix. Normalising in
// float32 is also what mixed precision wants for reductions. A no-op cast otherwise.
#include <torch/nn/modules/normalization.h>

namespace mert {

inline at::Tensor layer_norm_in_param_dtype(torch::nn::LayerNorm& ln, const at::Tensor& x) {
  const auto dtype = ln->weight.scalar_type();
  return ln->forward(x.scalar_type() == dtype ? x : x.to(dtype));
}

}  // namespace mert
