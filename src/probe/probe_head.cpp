#include "probe/probe_head.h"

#include <torch/torch.h>

namespace mert::probe {

ProbeHeadImpl::ProbeHeadImpl(int64_t dim, int64_t hidden, int64_t outputs, int64_t weighted_layers, double dropout) {
  if (weighted_layers > 0) layer_weights_ = register_parameter("layer_weights", torch::randn({weighted_layers}));
  fc1_ = register_module("fc1", torch::nn::Linear(dim, hidden));
  dropout_ = register_module("dropout", torch::nn::Dropout(dropout));
  fc2_ = register_module("fc2", torch::nn::Linear(hidden, outputs));
}

torch::Tensor ProbeHeadImpl::forward(const torch::Tensor& x) {
  torch::Tensor h = x;
  if (layer_weights_.defined()) h = torch::einsum("l,nld->nd", {torch::softmax(layer_weights_, 0), x});
  return fc2_(dropout_(torch::relu(fc1_(h))));
}

torch::Tensor ProbeHeadImpl::layer_mix() const {
  return layer_weights_.defined() ? torch::softmax(layer_weights_.detach(), 0) : torch::Tensor();
}

}  // namespace mert::probe
