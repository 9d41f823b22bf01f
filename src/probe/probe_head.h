#pragma once
// The probe head of MARBLE: optional learned softmax weights over layers, then
// Linear(D -> hidden) -> ReLU -> Dropout -> Linear(hidden -> outputs).
// All its randomness (initialisation, dropout) comes from one generator, so heads trained on
// different threads at once are each deterministic.
#include <ATen/core/Generator.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

namespace mert::probe {

class ProbeHeadImpl : public torch::nn::Module {
 public:
  // weighted_layers > 0: the input is [N, weighted_layers, D] and is reduced by
  // softmax(layer_weights) (initialised N(0, 1), as MARBLE does); 0: the input is [N, D].
  // Linear layers are initialised as PyTorch's defaults (uniform within 1/sqrt(fan_in)).
  ProbeHeadImpl(int64_t dim, int64_t hidden, int64_t outputs, int64_t weighted_layers, double dropout,
                at::Generator gen);
  torch::Tensor forward(const torch::Tensor& x);
  // softmax of the layer weights (empty when the head takes one layer).
  torch::Tensor layer_mix() const;

 private:
  torch::Tensor layer_weights_;
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
  double dropout_;
  at::Generator gen_;
};
TORCH_MODULE(ProbeHead);

}  // namespace mert::probe
