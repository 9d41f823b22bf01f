#include "model/feature_projection.h"

#include "model/dropout.h"
#include "model/layer_norm.h"

namespace mert {

FeatureProjectionImpl::FeatureProjectionImpl(const ModelConfig& cfg) : dropout(cfg.feat_proj_dropout) {
  const int64_t c = cfg.conv_dim.back();
  if (cfg.feat_proj_layer_norm)
    layer_norm = register_module("layer_norm", torch::nn::LayerNorm(
        torch::nn::LayerNormOptions({c}).eps(cfg.layer_norm_eps)));
  projection = register_module("projection", Dense(c, cfg.hidden_size));
}

torch::Tensor FeatureProjectionImpl::forward(const torch::Tensor& x) {
  auto h = projection->forward(layer_norm ? layer_norm_in_param_dtype(layer_norm, x) : x);
  if (is_training() && dropout > 0) h = hashed_dropout(h, dropout);
  return h;
}

}  // namespace mert
