#include "model/feature_extractor.h"

#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/normalization.h>
#include <ATen/core/grad_mode.h>

namespace mert {

namespace F = torch::nn::functional;

ConvLayerImpl::ConvLayerImpl(int64_t in_ch, int64_t out_ch, int64_t kernel, int64_t stride,
                             bool bias, Norm norm_kind)
    : norm(norm_kind) {
  conv = register_module("conv", torch::nn::Conv1d(
      torch::nn::Conv1dOptions(in_ch, out_ch, kernel).stride(stride).bias(bias)));
  if (norm != Norm::None) {
    // Registered as plain parameters under `layer_norm.*` so HF names load directly.
    auto ln = register_module("layer_norm", std::make_shared<torch::nn::Module>());
    norm_weight = ln->register_parameter("weight", torch::ones({out_ch}));
    norm_bias = ln->register_parameter("bias", torch::zeros({out_ch}));
  }
}

torch::Tensor ConvLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& out_lengths) {
  torch::Tensor y = conv->forward(x);
  if (norm == Norm::Layer) {
    // LayerNorm over channels, per frame.
    y = torch::layer_norm(y.transpose(-2, -1), {y.size(1)}, norm_weight, norm_bias, eps)
            .transpose(-2, -1);
  } else if (norm == Norm::Group) {
    // GroupNorm with one group per channel = per-channel normalisation over time. With a
    // padded batch the statistics must cover each item's valid frames only, otherwise an
    // item's output would depend on how much padding its batch-mates forced on it.
    const int64_t T = y.size(2);
    bool all_full = !out_lengths.defined() || (out_lengths.min().item<int64_t>() == T);
    if (all_full) {
      y = torch::group_norm(y, y.size(1), norm_weight, norm_bias, eps);
    } else {
      auto mask = (torch::arange(T, out_lengths.options()).unsqueeze(0) < out_lengths.unsqueeze(1))
                      .to(y.scalar_type()).unsqueeze(1);  // [B,1,T]
      auto n = mask.sum(-1, true).clamp_min(1);
      auto mean = (y * mask).sum(-1, true) / n;
      auto centered = (y - mean) * mask;
      auto var = centered.pow(2).sum(-1, true) / n;
      y = (y - mean) * torch::rsqrt(var + eps) * norm_weight.view({1, -1, 1}) +
          norm_bias.view({1, -1, 1});
    }
  }
  // Exact (erf) GELU; in place when no gradient is needed, since the first layer's activations
  // are the largest tensors of the whole model (512 x S/5 floats).
  if (!at::GradMode::is_enabled()) return at::gelu_(y);
  return F::gelu(y);
}

FeatureEncoderImpl::FeatureEncoderImpl(const ModelConfig& cfg) : cfg_(cfg) {
  conv_layers = register_module("conv_layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < cfg.num_conv_layers(); ++i) {
    ConvLayerImpl::Norm norm = ConvLayerImpl::Norm::None;
    if (cfg.feat_extract_norm == "layer") norm = ConvLayerImpl::Norm::Layer;
    else if (i == 0) norm = ConvLayerImpl::Norm::Group;
    const int64_t in_ch = i == 0 ? 1 : cfg.conv_dim[i - 1];
    conv_layers->push_back(ConvLayer(in_ch, cfg.conv_dim[i], cfg.conv_kernel[i],
                                     cfg.conv_stride[i], cfg.conv_bias, norm));
  }
}

torch::Tensor FeatureEncoderImpl::output_lengths(const torch::Tensor& lengths,
                                                 int64_t upto_layer) const {
  torch::Tensor len = lengths;
  for (int64_t i = 0; i <= upto_layer; ++i)
    len = ((len - cfg_.conv_kernel[i]).div(cfg_.conv_stride[i], "floor") + 1).clamp_min(0);
  return len;
}

torch::Tensor FeatureEncoderImpl::forward(const torch::Tensor& wave, const torch::Tensor& lengths) {
  torch::Tensor x = wave.unsqueeze(1);  // [B,1,S]
  for (size_t i = 0; i < conv_layers->size(); ++i) {
    auto layer = conv_layers[i]->as<ConvLayerImpl>();
    torch::Tensor out_len;
    if (lengths.defined() && layer->norm == ConvLayerImpl::Norm::Group)
      out_len = output_lengths(lengths, static_cast<int64_t>(i));
    x = layer->forward(x, out_len);
  }
  return x;
}

}  // namespace mert
