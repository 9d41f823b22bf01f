#include "model/feature_extractor.h"

#include "model/gelu.h"

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
    if (all_full && !at::GradMode::is_enabled()) {
      // In place: the first layer's output is the largest tensor of the model (295 MB for a
      // 30 s chunk), and a second copy of it set the peak memory of a whole run.
      auto [var, mean] = at::var_mean(y, {-1}, /*unbiased=*/false, /*keepdim=*/true);
      auto scale = torch::rsqrt(var + eps) * norm_weight.view({1, -1, 1});
      y.sub_(mean).mul_(scale).add_(norm_bias.view({1, -1, 1}));
    } else if (all_full) {
      // In the weights' dtype: under bf16 autocast the conv output is bf16 while the norm's
      // parameters stay float32 (fairseq's Fp32GroupNorm likewise normalises in float32).
      y = torch::group_norm(y.to(norm_weight.scalar_type()), y.size(1), norm_weight, norm_bias, eps);
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
  return gelu_with_safe_backward(y);
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

torch::Tensor FeatureEncoderImpl::forward_tiled(const torch::Tensor& wave) {
  const int64_t L = cfg_.num_conv_layers();
  const int64_t S = wave.size(1);
  const int64_t T = cfg_.frames_for_samples(S);
  const int64_t k0 = cfg_.conv_kernel[0], s0 = cfg_.conv_stride[0];
  const int64_t T0 = (S - k0) / s0 + 1;
  // Receptive field and stride of layers 1..L-1, in layer-0 frames.
  int64_t r = 1, stride = 1;
  for (int64_t i = L - 1; i >= 1; --i) r = (r - 1) * cfg_.conv_stride[i] + cfg_.conv_kernel[i];
  for (int64_t i = 1; i < L; ++i) stride *= cfg_.conv_stride[i];
  auto layer0 = conv_layers[0]->as<ConvLayerImpl>();
  auto samples_for = [&](int64_t a, int64_t b) {  // input samples behind layer-0 frames [a, b)
    return wave.narrow(1, a * s0, (b - 1) * s0 + k0 - a * s0).unsqueeze(1);
  };

  // Pass 1 (group norm only): per-channel mean/variance of layer 0's conv output over the whole
  // input, from float statistics of chunks of kStatFrames frames combined in float64 (Chan et
  // al.'s pairwise update), so neither the full [C, T0] output nor a float64 copy of a tile exists.
  torch::Tensor shift, scale;
  if (layer0->norm == ConvLayerImpl::Norm::Group) {
    constexpr int64_t kStatFrames = 4096;
    torch::Tensor mean, m2;  // float64 [B, C, 1]
    double n = 0;
    for (int64_t a = 0; a < T0; a += kStatFrames) {
      const int64_t b = std::min(T0, a + kStatFrames);
      auto y = layer0->conv->forward(samples_for(a, b)).to(torch::kFloat);
      auto [var_b, mean_b] = at::var_mean(y, {-1}, /*unbiased=*/false, /*keepdim=*/true);
      const double nb = static_cast<double>(b - a);
      auto mb = mean_b.to(torch::kDouble), m2b = var_b.to(torch::kDouble) * nb;
      if (!mean.defined()) {
        mean = mb, m2 = m2b;
      } else {
        auto delta = mb - mean;
        mean = mean + delta * (nb / (n + nb));
        m2 = m2 + m2b + delta.pow(2) * (n * nb / (n + nb));
      }
      n += nb;
    }
    auto var = m2 / n;
    scale = (torch::rsqrt(var + layer0->eps) * layer0->norm_weight.to(torch::kDouble).view({1, -1, 1})).to(wave.scalar_type());
    shift = (layer0->norm_bias.to(torch::kDouble).view({1, -1, 1}) -
             mean * scale.to(torch::kDouble)).to(wave.scalar_type());
  }

  // Pass 2: each tile of output frames from just the layer-0 frames it depends on.
  torch::Tensor out;
  for (int64_t j0 = 0; j0 < T; j0 += kTileFrames) {
    const int64_t j1 = std::min(T, j0 + kTileFrames);
    const int64_t a = j0 * stride, b = std::min(T0, (j1 - 1) * stride + r);
    torch::Tensor y;
    if (scale.defined()) {
      y = layer0->conv->forward(samples_for(a, b));
      y.mul_(scale).add_(shift);
      at::gelu_(y);
    } else {
      y = layer0->forward(samples_for(a, b), {});
    }
    for (int64_t i = 1; i < L; ++i) y = conv_layers[i]->as<ConvLayerImpl>()->forward(y, {});
    if (!out.defined()) out = torch::empty({wave.size(0), y.size(1), T}, y.options());
    out.narrow(2, j0, j1 - j0).copy_(y.narrow(2, 0, j1 - j0));
  }
  return out;
}

torch::Tensor FeatureEncoderImpl::forward(const torch::Tensor& wave, const torch::Tensor& lengths) {
  // Long unpadded inputs at inference: tile over time so memory does not grow with length.
  if (!lengths.defined() && !at::GradMode::is_enabled() && cfg_.frames_for_samples(wave.size(1)) > kTileFrames)
    return forward_tiled(wave);
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
