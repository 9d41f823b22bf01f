#include "model/feature_extractor.h"

#include "model/conv_frames.h"
#include "model/conv_gemm.h"
#include "model/gelu.h"
#include "model/layer_norm.h"

#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/normalization.h>
#include <ATen/autocast_mode.h>
#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <vector>

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

bool ConvLayerImpl::quantize_int8() {
  if (!int8_vnni_enabled() || conv->weight.size(1) % 4 != 0) return false;
  int8_weight = pack_int8_conv_weight(conv->weight, conv->bias);
  return true;
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

namespace {

// Layer 0's GroupNorm (one group per channel: each channel normalised over an item's frames)
// folded into layer 0's weights. The conv is linear in the k0-sample input patches p_t, so each
// channel's mean and variance over frames follow from the patches' mean m and covariance S:
// mean_c = w_c.m + b_c, var_c = w_c' S w_c. That is O(frames * k0^2) work in float64 instead of
// a full pass of the 512-channel conv, and normalising becomes a per-channel rescaling of the
// weights: y = scale_c (w_c.p - w_c.m) + beta_c, with scale_c = gamma_c / sqrt(var_c + eps).
ConvGemm fold_group_norm(const ConvLayerImpl& layer, const at::Tensor& samples, int64_t frames,
                         at::ScalarType dtype) {
  const auto& w = layer.conv->weight;  // [C, 1, k0]
  const int64_t C = w.size(0), k0 = w.size(2), s0 = layer.conv->options.stride()->at(0);
  const at::Tensor x = samples.to(at::kDouble);
  // Patches are centred on the samples' mean first so that float64 sums lose nothing to
  // cancellation on audio with a DC offset.
  const double centre = x.narrow(0, 0, (frames - 1) * s0 + k0).mean().item<double>();
  at::Tensor sum = at::zeros({k0}, x.options()), outer = at::zeros({k0, k0}, x.options());
  constexpr int64_t kChunk = 1 << 16;  // frames per float64 patch matrix (5 MiB)
  for (int64_t a = 0; a < frames; a += kChunk) {
    const int64_t n = std::min(kChunk, frames - a);
    const at::Tensor p = x.as_strided({n, k0}, {s0, 1}, a * s0) - centre;
    sum += p.sum(0);
    outer += at::mm(p.t(), p);
  }
  const at::Tensor m = sum / static_cast<double>(frames);  // mean patch, centred
  const at::Tensor cov = outer / static_cast<double>(frames) - at::outer(m, m);
  const at::Tensor wd = w.reshape({C, k0}).to(at::kDouble);
  const at::Tensor var = (at::mm(wd, cov) * wd).sum(1).clamp_min(0);
  const at::Tensor scale = layer.norm_weight.to(at::kDouble) * at::rsqrt(var + layer.eps);
  // w_c.p over raw patches = w_c.(p - centre) + centre * sum(w_c); the conv bias cancels.
  const at::Tensor w_mean = at::mv(wd, m) + centre * wd.sum(1);
  ConvGemm g = ConvGemm::from_conv((wd * scale.unsqueeze(1)).view({C, 1, k0}).to(dtype), {}, s0);
  g.bias = (layer.norm_bias.to(at::kDouble) - scale * w_mean).to(dtype);
  return g;
}

}  // namespace

torch::Tensor FeatureEncoderImpl::forward_inference(const torch::Tensor& wave, const torch::Tensor& lengths) {
  const int64_t L = cfg_.num_conv_layers();
  const int64_t B = wave.size(0), S = wave.size(1);
  const int64_t T = cfg_.frames_for_samples(S);
  const auto dtype = wave.scalar_type();
  const int64_t k0 = cfg_.conv_kernel[0], s0 = cfg_.conv_stride[0];
  const int64_t T0 = (S - k0) / s0 + 1;
  // Receptive field and stride of layers 1..L-1, in layer-0 frames.
  int64_t r = 1, stride = 1;
  for (int64_t i = L - 1; i >= 1; --i) r = (r - 1) * cfg_.conv_stride[i] + cfg_.conv_kernel[i];
  for (int64_t i = 1; i < L; ++i) stride *= cfg_.conv_stride[i];

  std::vector<ConvGemm> gemm;  // per layer; layer 0's is rebuilt per item when it folds a GroupNorm
  std::vector<const ConvLayerImpl*> layer;
  for (int64_t i = 0; i < L; ++i) {
    layer.push_back(conv_layers[i]->as<ConvLayerImpl>());
    gemm.push_back(layer[i]->int8_weight.defined()
                       ? ConvGemm::from_int8(layer[i]->int8_weight, cfg_.conv_kernel[i], cfg_.conv_stride[i])
                       : ConvGemm::from_conv(layer[i]->conv->weight, layer[i]->conv->bias, cfg_.conv_stride[i]));
  }
  const bool group_norm = layer[0]->norm == ConvLayerImpl::Norm::Group;
  auto finish = [&](const ConvLayerImpl& l, at::Tensor y) {  // y: [frames, C], time-major
    if (l.norm == ConvLayerImpl::Norm::Layer) y = layer_norm_in_float(y, {y.size(1)}, l.norm_weight, l.norm_bias, l.eps);
    return at::gelu_(y);
  };

  // Output is filled tile by tile, time-major, and handed out as a [B, C, T] view.
  at::Tensor out = at::empty({B, T, cfg_.conv_dim.back()}, wave.options());
  for (int64_t b = 0; b < B; ++b) {
    const at::Tensor item = wave[b];
    if (group_norm) {
      const int64_t valid = lengths.defined() ? lengths[b].item<int64_t>() : S;
      gemm[0] = fold_group_norm(*layer[0], item, std::max<int64_t>(1, (valid - k0) / s0 + 1), dtype);
    }
    for (int64_t j0 = 0; j0 < T; j0 += kTileFrames) {
      const int64_t j1 = std::min(T, j0 + kTileFrames);
      // The last tile is moved back to end at T, overlapping the one before, so that all tiles of
      // an input of at least kTileFrames frames have one shape: a shorter last tile would make
      // oneDNN create (and cache) kernels for every input length. The overlap is computed twice.
      const int64_t t0 = std::max<int64_t>(0, j1 - kTileFrames);
      const int64_t a = t0 * stride, e = std::min(T0, (j1 - 1) * stride + r);  // layer-0 frames
      at::Tensor y = gemm[0].forward(item.narrow(0, a * s0, (e - 1 - a) * s0 + k0).unsqueeze(1));
      y = group_norm ? at::gelu_(y) : finish(*layer[0], y);
      for (int64_t i = 1; i < L; ++i)
        y = layer[i]->norm == ConvLayerImpl::Norm::None ? gemm[i].forward_gelu(y) : finish(*layer[i], gemm[i].forward(y));
      out[b].narrow(0, j0, j1 - j0).copy_(y.narrow(0, j0 - t0, j1 - j0));
    }
  }
  return out.transpose(1, 2);
}

torch::Tensor FeatureEncoderImpl::forward(const torch::Tensor& wave, const torch::Tensor& lengths) {
  // Inference: time-major GEMMs, tiled over time so memory does not grow with length. Under
  // autocast (pre-training with a frozen front end) the plain path keeps autocast's dtype rules.
  if (!at::GradMode::is_enabled() && !at::autocast::is_cpu_enabled()) return forward_inference(wave, lengths);
  // Training in fp32: layers 1.. (no norm) as time-major GEMMs with their own backward
  // (model/conv_frames.h); layer 0 and its GroupNorm stay channels-first.
  bool frames = conv_frames_enabled() && wave.device().is_cpu() && wave.scalar_type() == at::kFloat &&
                !at::autocast::is_cpu_enabled() && conv_layers->size() > 1;
  for (size_t i = 1; i < conv_layers->size(); ++i)
    frames = frames && conv_layers[i]->as<ConvLayerImpl>()->norm == ConvLayerImpl::Norm::None;
  torch::Tensor x = wave.unsqueeze(1);  // [B,1,S]
  for (size_t i = 0; i < conv_layers->size(); ++i) {
    auto layer = conv_layers[i]->as<ConvLayerImpl>();
    if (frames && i > 0) {
      if (i == 1) x = x.transpose(1, 2).contiguous();  // [B, frames, C]
      const int64_t stride = layer->conv->options.stride()->at(0);
      x = gelu_with_safe_backward(conv_frames(x, layer->conv->weight, layer->conv->bias, stride));
      continue;
    }
    torch::Tensor out_len;
    if (lengths.defined() && layer->norm == ConvLayerImpl::Norm::Group)
      out_len = output_lengths(lengths, static_cast<int64_t>(i));
    x = layer->forward(x, out_len);
  }
  return frames ? x.transpose(1, 2) : x;  // [B, C, T] either way
}

}  // namespace mert
