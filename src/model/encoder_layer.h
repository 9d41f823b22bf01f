#pragma once
// One transformer layer (HF `encoder.layers.N`) in either residual style:
//  post-LN (v0, v1-95M):  x = LN(a*x + Attn(x)); x = LN_final(a*x + FFN(x)), a = 1 or DeepNorm's
//  pre-LN  (v1-330M):     x = x + Attn(LN(x));   x = x + FFN(LN_final(x))
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include "model/attention.h"
#include "model/dense.h"
#include "mert/config.h"

namespace mert {

class FeedForwardImpl : public torch::nn::Module {
 public:
  FeedForwardImpl(int64_t hidden, int64_t inner, double activation_dropout, double hidden_dropout);
  torch::Tensor forward(const torch::Tensor& x);
  Dense intermediate_dense{nullptr}, output_dense{nullptr};
  double activation_dropout, hidden_dropout;
};
TORCH_MODULE(FeedForward);

class EncoderLayerImpl : public torch::nn::Module {
 public:
  explicit EncoderLayerImpl(const ModelConfig& cfg);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& additive_mask);

  SelfAttention attention{nullptr};
  torch::nn::LayerNorm layer_norm{nullptr};
  FeedForward feed_forward{nullptr};
  torch::nn::LayerNorm final_layer_norm{nullptr};

 private:
  bool pre_ln_;
  double residual_alpha_;  // DeepNorm's (2N)^(1/4), else 1
  double hidden_dropout_;
};
TORCH_MODULE(EncoderLayer);

}  // namespace mert
