#include "model/positional_conv.h"

#include "model/gelu.h"

#include <torch/nn/functional/activation.h>

namespace mert {

WeightNormConv1dImpl::WeightNormConv1dImpl(int64_t channels, int64_t kernel_, int64_t groups_)
    : kernel(kernel_), groups(groups_) {
  weight_v = register_parameter("weight_v", torch::randn({channels, channels / groups, kernel}) * 0.02);
  weight_g = register_parameter("weight_g", torch::ones({1, 1, kernel}));
  bias = register_parameter("bias", torch::zeros({channels}));
}

torch::Tensor WeightNormConv1dImpl::effective_weight() const {
  // Norm over output and input channels for each kernel tap (dim=2 kept).
  auto norm = weight_v.pow(2).sum(at::IntArrayRef{0, 1}, /*keepdim=*/true).sqrt();
  return weight_g * weight_v / norm;
}

PositionalConvEmbeddingImpl::PositionalConvEmbeddingImpl(const ModelConfig& cfg) {
  conv = register_module("conv", WeightNormConv1d(cfg.hidden_size, cfg.num_conv_pos_embeddings,
                                                  cfg.num_conv_pos_embedding_groups));
}

torch::Tensor PositionalConvEmbeddingImpl::forward(const torch::Tensor& x) {
  const int64_t T = x.size(1);
  auto y = torch::conv1d(x.transpose(1, 2), conv->effective_weight(), conv->bias, /*stride=*/1,
                         /*padding=*/conv->kernel / 2, /*dilation=*/1, conv->groups);
  // An even kernel with symmetric padding yields T+1 frames; HF's "same pad" drops the last.
  if (y.size(2) > T) y = y.narrow(2, 0, T);
  return gelu_with_safe_backward(y).transpose(1, 2);
}

}  // namespace mert
