#pragma once
// Multi-head self-attention (HF `encoder.layers.N.attention`), separate q/k/v/out projections.
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

#include "model/dense.h"

namespace mert {

class SelfAttentionImpl : public torch::nn::Module {
 public:
  SelfAttentionImpl(int64_t hidden, int64_t heads, double dropout);
  // x: [B, T, H]; additive_mask: [B, 1, 1, T] (0 for keys to attend, very negative for padding)
  // or undefined.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& additive_mask);

  Dense q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, out_proj{nullptr};
  int64_t heads, head_dim;
  double dropout;
};
TORCH_MODULE(SelfAttention);

}  // namespace mert
