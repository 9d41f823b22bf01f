#include "model/model.h"

#include <chrono>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <cstdio>
#include <cstdlib>

#include "mert/error.h"
#include "util/system_info.h"
#include "model/dense.h"
#include "model/encoder.h"
#include "model/feature_extractor.h"
#include "model/feature_projection.h"

namespace mert {

MertModelImpl::MertModelImpl(const ModelConfig& cfg) : cfg_(cfg) {
  cfg_.validate();
  feature_extractor = register_module("feature_extractor", std::make_shared<FeatureEncoderImpl>(cfg_));
  feature_projection = register_module("feature_projection", std::make_shared<FeatureProjectionImpl>(cfg_));
  encoder = register_module("encoder", std::make_shared<EncoderImpl>(cfg_));
  masked_spec_embed = register_parameter("masked_spec_embed", torch::rand({cfg_.hidden_size}));
}

ModelOutput MertModelImpl::forward(const at::Tensor& wave, const at::Tensor& lengths,
                                   const std::vector<int64_t>& keep_layers) {
  if (wave.dim() != 2) throw Error("model input must be [batch, samples]");
  if (wave.scalar_type() != dtype()) return forward(wave.to(dtype()), lengths, keep_layers);
  const int64_t B = wave.size(0), S = wave.size(1);
  const int64_t L = cfg_.num_hidden_layers;
  std::vector<bool> keep;
  if (!keep_layers.empty()) {
    keep.assign(L + 1, false);
    for (auto i : keep_layers) {
      if (i < 0 || i > L)
        throw Error("hidden state " + std::to_string(i) + " out of range 0.." + std::to_string(L));
      keep[i] = true;
    }
  }
  at::Tensor sample_lengths = lengths.defined() ? lengths.to(torch::kLong).cpu()
                                                : torch::full({B}, S, torch::kLong);
  if (sample_lengths.size(0) != B) throw Error("lengths must have one entry per batch item");
  const int64_t min_len = sample_lengths.min().item<int64_t>();
  if (min_len < cfg_.receptive_field())
    throw Error("audio of " + std::to_string(min_len) + " samples is shorter than the model's receptive field (" +
                std::to_string(cfg_.receptive_field()) + " samples)");
  const bool padded = sample_lengths.max().item<int64_t>() != min_len || sample_lengths.max().item<int64_t>() != S;
  at::Tensor dev_lengths = padded ? sample_lengths.to(wave.device()) : at::Tensor();

  // MERT_STAGE_TIMES=1 prints where a forward pass spends its time (used to tune the fast path).
  static const bool stage_times = std::getenv("MERT_STAGE_TIMES") != nullptr;
  auto t0 = std::chrono::steady_clock::now();
  auto lap = [&](const char* what) {
    if (!stage_times) return;
    const auto now = std::chrono::steady_clock::now();
    std::fprintf(stderr, "stage %-18s %8.2f ms\n", what, std::chrono::duration<double, std::milli>(now - t0).count());
    t0 = now;
  };
  auto feats = feature_extractor->forward(wave, dev_lengths).transpose(1, 2);  // [B,T,C]
  lap("conv front end");
  const int64_t T = feats.size(1);
  auto frame_lengths = sample_lengths.clone();
  for (int64_t b = 0; b < B; ++b)
    frame_lengths[b] = cfg_.frames_for_samples(sample_lengths[b].item<int64_t>());
  at::Tensor frame_mask;
  if (padded)
    frame_mask = torch::arange(T, torch::TensorOptions().dtype(torch::kLong).device(wave.device()))
                     .unsqueeze(0) < frame_lengths.to(wave.device()).unsqueeze(1);

  auto x = feature_projection->forward(feats);
  lap("feature projection");
  ModelOutput out;
  out.hidden_states = encoder->forward(x, frame_mask, keep);
  lap("encoder");
  out.frame_lengths = frame_lengths;
  if (padded) {
    auto pad = frame_mask.logical_not().unsqueeze(-1);
    for (auto& h : out.hidden_states)
      if (h.defined()) h = h.masked_fill(pad, 0.0);
  }
  return out;
}

PretrainForward MertModelImpl::forward_pretrain(const at::Tensor& wave, const at::Tensor& mask,
                                                double feature_grad_mult) {
  if (wave.dim() != 2) throw Error("model input must be [batch, samples]");
  if (wave.size(1) < cfg_.receptive_field())
    throw Error("crops of " + std::to_string(wave.size(1)) + " samples are shorter than the model's receptive field (" +
                std::to_string(cfg_.receptive_field()) + " samples)");
  at::Tensor feats;
  if (feature_grad_mult > 0) {
    feats = feature_extractor->forward(wave.to(dtype()), {});
    // fairseq's GradMultiply: identity forward, gradient scaled on the way back.
    if (feature_grad_mult != 1.0 && feats.requires_grad())
      feats.register_hook([feature_grad_mult](at::Tensor g) { return g * feature_grad_mult; });
  } else {
    torch::NoGradGuard frozen;
    feats = feature_extractor->forward(wave.to(dtype()), {});
  }
  PretrainForward out;
  out.features_pen = feats.to(torch::kFloat).pow(2).mean();
  auto x = feature_projection->forward(feats.transpose(1, 2));  // [B,T,H]
  if (mask.defined()) {
    if (mask.dim() != 2 || mask.size(0) != x.size(0) || mask.size(1) != x.size(1))
      throw Error("mask must be [batch, frames] = [" + std::to_string(x.size(0)) + ", " + std::to_string(x.size(1)) + "]");
    x = torch::where(mask.to(x.device()).unsqueeze(-1), masked_spec_embed.to(x.scalar_type()), x);
  }
  const int64_t L = cfg_.num_hidden_layers;
  std::vector<bool> keep(L + 1, false);
  keep[L] = true;
  out.hidden = encoder->forward(x, {}, keep)[L];
  return out;
}

at::ScalarType parse_compute_dtype(const std::string& dtype) {
  if (dtype == "fp32" || dtype == "float32") return torch::kFloat;
  if (dtype == "bf16" || dtype == "bfloat16" || dtype == "int8") return torch::kBFloat16;
  throw Error("unknown compute dtype '" + dtype + "' (expected fp32, bf16 or int8)");
}

void finish_compute_dtype(MertModelImpl& model, const std::string& dtype) {
  parse_compute_dtype(dtype);
  if (dtype != "int8") return;
  for (const auto& m : model.modules())
    if (auto* dense = dynamic_cast<DenseImpl*>(m.get())) dense->quantize_int8();
    else if (auto* conv = dynamic_cast<ConvLayerImpl*>(m.get())) conv->quantize_int8();
  // libtorch's int8 product quantises its input with a new oneDNN reorder (the scale is part of
  // the primitive), a hundred or so throwaway primitives per pass: a cache capped for the float
  // path would lose the pass's reusable primitives to them every pass.
  if (int8_kernel_name() == "libtorch dynamic int8") reserve_kernel_cache(256);
#if defined(__GLIBC__)
  // The float weights just freed are scattered through the heap, which `mert` keeps (see
  // tools/mert/main.cpp); hand their pages back now rather than carry them for the whole run.
  malloc_trim(0);
#endif
}

std::string compute_dtype_name(at::ScalarType t) {
  if (t == torch::kFloat) return "fp32";
  if (t == torch::kBFloat16) return "bf16";
  return c10::toString(t);
}

void set_compute_dtype(MertModelImpl& model, const std::string& dtype) {
  model.to(parse_compute_dtype(dtype));
  finish_compute_dtype(model, dtype);
}

}  // namespace mert
