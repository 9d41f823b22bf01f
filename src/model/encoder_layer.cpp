#include "model/encoder_layer.h"

#include "model/dropout.h"
#include "model/layer_norm.h"

#include "model/gelu.h"

#include <torch/nn/functional/activation.h>

#include <cmath>

namespace mert {

FeedForwardImpl::FeedForwardImpl(int64_t hidden, int64_t inner, double act_dropout, double hid_dropout)
    : activation_dropout(act_dropout), hidden_dropout(hid_dropout) {
  intermediate_dense = register_module("intermediate_dense", Dense(hidden, inner));
  output_dense = register_module("output_dense", Dense(inner, hidden));
}

torch::Tensor FeedForwardImpl::forward(const torch::Tensor& x) {
  auto h = intermediate_dense->forward_gelu(x);
  if (is_training() && activation_dropout > 0) h = hashed_dropout(h, activation_dropout);
  h = output_dense->forward(h);
  if (is_training() && hidden_dropout > 0) h = hashed_dropout(h, hidden_dropout);
  return h;
}

EncoderLayerImpl::EncoderLayerImpl(const ModelConfig& cfg)
    : pre_ln_(cfg.do_stable_layer_norm),
      residual_alpha_(cfg.deepnorm ? std::pow(2.0 * cfg.num_hidden_layers, 0.25) : 1.0),
      hidden_dropout_(cfg.hidden_dropout) {
  auto ln_opts = torch::nn::LayerNormOptions({cfg.hidden_size}).eps(cfg.layer_norm_eps);
  attention = register_module("attention", SelfAttention(cfg.hidden_size, cfg.num_attention_heads,
                                                          cfg.attention_dropout));
  layer_norm = register_module("layer_norm", torch::nn::LayerNorm(ln_opts));
  feed_forward = register_module("feed_forward", FeedForward(cfg.hidden_size, cfg.intermediate_size,
                                                             cfg.activation_dropout, cfg.hidden_dropout));
  final_layer_norm = register_module("final_layer_norm", torch::nn::LayerNorm(ln_opts));
}

torch::Tensor EncoderLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& additive_mask) {
  auto drop = [&](torch::Tensor t) {
    return (is_training() && hidden_dropout_ > 0) ? hashed_dropout(t, hidden_dropout_) : t;
  };
  if (pre_ln_) {
    auto h = x + drop(attention->forward(layer_norm_in_param_dtype(layer_norm, x), additive_mask));
    return h + feed_forward->forward(layer_norm_in_param_dtype(final_layer_norm, h));
  }
  auto attn = drop(attention->forward(x, additive_mask));
  auto h = layer_norm_in_param_dtype(layer_norm, residual_alpha_ == 1.0 ? x + attn : x * residual_alpha_ + attn);
  auto ff = feed_forward->forward(h);
  return layer_norm_in_param_dtype(final_layer_norm, residual_alpha_ == 1.0 ? h + ff : h * residual_alpha_ + ff);
}

}  // namespace mert
