#include "model/positional_conv.h"

#include "model/gelu.h"

#include <torch/nn/functional/activation.h>
#include <ATen/core/grad_mode.h>

#include <vector>

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

torch::Tensor WeightNormConv1dImpl::channels_last_weight() const {
  // Valid while the parameters are: in-place updates (optimizer steps, load_state_dict) move a
  // tensor's version counter; a dtype change or module->to() gives it new storage.
  std::vector<int64_t> key;
  for (const auto* t : {&weight_v, &weight_g}) {
    key.push_back(static_cast<int64_t>(t->_version()));
    key.push_back(reinterpret_cast<int64_t>(t->data_ptr()));
    key.push_back(static_cast<int64_t>(t->scalar_type()));
  }
  if (key != cache_key_ || !cached_channels_last_weight_.defined()) {
    at::NoGradGuard no_grad;
    cached_channels_last_weight_ = effective_weight().unsqueeze(2).contiguous(at::MemoryFormat::ChannelsLast);
    cache_key_ = std::move(key);
  }
  return cached_channels_last_weight_;
}

PositionalConvEmbeddingImpl::PositionalConvEmbeddingImpl(const ModelConfig& cfg) {
  conv = register_module("conv", WeightNormConv1d(cfg.hidden_size, cfg.num_conv_pos_embeddings,
                                                  cfg.num_conv_pos_embedding_groups));
}

torch::Tensor PositionalConvEmbeddingImpl::forward(const torch::Tensor& x) {
  const int64_t T = x.size(1);
  if (!at::GradMode::is_enabled()) {
    // Inference: the time-major input seen as a channels-last [B, C, 1, T] image is what
    // oneDNN's grouped conv runs fastest on (about half the time of the channels-first conv in
    // both dtypes: bench/kernel_microbench.py), and its output is time-major again: no
    // transposes or copies on either side.
    at::Tensor y = at::conv2d(x.transpose(1, 2).unsqueeze(2), conv->channels_last_weight(), conv->bias,
                              /*stride=*/at::IntArrayRef{1, 1}, /*padding=*/at::IntArrayRef{0, conv->kernel / 2},
                              /*dilation=*/at::IntArrayRef{1, 1}, conv->groups);
    y = y.squeeze(2).transpose(1, 2);  // [B, T(+1), C], contiguous
    if (y.size(1) > T) y = y.narrow(1, 0, T);
    return at::gelu_(y);
  }
  auto y = torch::conv1d(x.transpose(1, 2), conv->effective_weight(), conv->bias, /*stride=*/1,
                         /*padding=*/conv->kernel / 2, /*dilation=*/1, conv->groups);
  // An even kernel with symmetric padding yields T+1 frames; HF's "same pad" drops the last.
  if (y.size(2) > T) y = y.narrow(2, 0, T);
  return gelu_with_safe_backward(y).transpose(1, 2);
}

}  // namespace mert
