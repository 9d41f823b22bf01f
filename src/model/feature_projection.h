#pragma once
// Feature projection (HF `feature_projection`): LayerNorm over conv channels, Linear to the
// transformer width, dropout.
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include "model/dense.h"
#include "mert/config.h"

namespace mert {

class FeatureProjectionImpl : public torch::nn::Module {
 public:
  explicit FeatureProjectionImpl(const ModelConfig& cfg);
  torch::Tensor forward(const torch::Tensor& x);  // [B,T,C] -> [B,T,H]
  torch::nn::LayerNorm layer_norm{nullptr};        // absent when feat_proj_layer_norm=false
  Dense projection{nullptr};
  double dropout;
};
TORCH_MODULE(FeatureProjection);

}  // namespace mert
