#pragma once
// Convolutional positional embedding (HF `encoder.pos_conv_embed`): a grouped Conv1d over time
// with weight normalisation, GELU, added to its input by the encoder.
#include <torch/nn/module.h>

#include <vector>

#include "mert/config.h"

namespace mert {

// Conv1d whose weight is g * v / ||v|| with the norm taken per kernel tap (torch weight_norm
// with dim=2). Keeps `weight_g` / `weight_v` as the trainable parameters, as HF stores them.
class WeightNormConv1dImpl : public torch::nn::Module {
 public:
  WeightNormConv1dImpl(int64_t channels, int64_t kernel, int64_t groups);
  torch::Tensor effective_weight() const;  // [C, C/groups, kernel]
  // The same weight as [C, C/groups, 1, kernel] in channels-last layout, for the inference path
  // (a 2-D conv over a time-major input). Cached until a parameter changes; no autograd.
  torch::Tensor channels_last_weight() const;
  torch::Tensor weight_g, weight_v, bias;
  int64_t kernel, groups;

 private:
  mutable std::vector<int64_t> cache_key_;  // versions and storage of the parameters cached from
  mutable torch::Tensor cached_channels_last_weight_;
};
TORCH_MODULE(WeightNormConv1d);

class PositionalConvEmbeddingImpl : public torch::nn::Module {
 public:
  explicit PositionalConvEmbeddingImpl(const ModelConfig& cfg);
  // x: [B, T, H] -> [B, T, H] (the embedding only; the caller adds it).
  torch::Tensor forward(const torch::Tensor& x);
  WeightNormConv1d conv{nullptr};
};
TORCH_MODULE(PositionalConvEmbedding);

}  // namespace mert
