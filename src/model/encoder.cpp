#include "model/encoder.h"

#include "model/dropout.h"
#include "model/layer_norm.h"

#include <limits>

namespace mert {

EncoderImpl::EncoderImpl(const ModelConfig& cfg)
    : pre_ln_(cfg.do_stable_layer_norm), hidden_dropout_(cfg.hidden_dropout), layerdrop_(cfg.layerdrop) {
  pos_conv_embed = register_module("pos_conv_embed", PositionalConvEmbedding(cfg));
  layer_norm = register_module("layer_norm", torch::nn::LayerNorm(
      torch::nn::LayerNormOptions({cfg.hidden_size}).eps(cfg.layer_norm_eps)));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < cfg.num_hidden_layers; ++i) layers->push_back(EncoderLayer(cfg));
}

std::vector<torch::Tensor> EncoderImpl::forward(torch::Tensor x, const torch::Tensor& frame_mask,
                                                const std::vector<bool>& keep) {
  const int64_t L = static_cast<int64_t>(layers->size());
  std::vector<torch::Tensor> hidden(L + 1);
  auto want = [&](int64_t i) { return keep.empty() || (i < (int64_t)keep.size() && keep[i]); };

  torch::Tensor additive_mask;
  if (frame_mask.defined()) {
    // As HF: zero the padded frames before the positional conv, and give padded keys the
    // dtype's lowest value so they get zero attention weight.
    x = x.masked_fill(frame_mask.logical_not().unsqueeze(-1), 0.0);
    // (float's lowest would round to -inf in bfloat16, and a fully masked row would turn NaN.)
    const double lowest = x.scalar_type() == torch::kHalf       ? -65504.0
                          : x.scalar_type() == torch::kBFloat16 ? -3.3895313892515355e38
                                                                : std::numeric_limits<float>::lowest();
    additive_mask = frame_mask.logical_not().to(x.scalar_type()).mul(lowest)
                        .view({x.size(0), 1, 1, x.size(1)});
  }
  x = x + pos_conv_embed->forward(x);
  if (!pre_ln_) x = layer_norm_in_param_dtype(layer_norm, x);
  if (is_training() && hidden_dropout_ > 0) x = hashed_dropout(x, hidden_dropout_);

  // Skip the tail of the stack when no later state is wanted.
  int64_t last_needed = L;
  if (!keep.empty() && !is_training()) {
    last_needed = -1;
    for (int64_t i = 0; i <= L; ++i) if (want(i)) last_needed = i;
  }
  for (int64_t i = 0; i < L; ++i) {
    if (want(i)) hidden[i] = x;
    if (i >= last_needed) break;
    // LayerDrop: skip whole layers at random during training only.
    if (is_training() && layerdrop_ > 0 && torch::rand({1}).item<double>() < layerdrop_) continue;
    x = layers[i]->as<EncoderLayerImpl>()->forward(x, additive_mask);
  }
  if (last_needed == L) {
    if (pre_ln_) x = layer_norm_in_param_dtype(layer_norm, x);
    if (want(L)) hidden[L] = x;
  }
  return hidden;
}

}  // namespace mert
