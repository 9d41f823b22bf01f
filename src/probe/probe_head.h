#pragma once
// The probe head of MARBLE: optional learned softmax weights over layers, then
// Linear(D -> hidden) -> ReLU -> Dropout -> Linear(hidden -> outputs).
#include <torch/nn/module.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>

namespace mert::probe {

class ProbeHeadImpl : public torch::nn::Module {
 public:
  // weighted_layers > 0: the input is [N, weighted_layers, D] and is reduced by
  // softmax(layer_weights) (initialised N(0, 1), as MARBLE does); 0: the input is [N, D].
  ProbeHeadImpl(int64_t dim, int64_t hidden, int64_t outputs, int64_t weighted_layers, double dropout);
  torch::Tensor forward(const torch::Tensor& x);
  // softmax of the layer weights (empty when the head takes one layer).
  torch::Tensor layer_mix() const;

 private:
  torch::Tensor layer_weights_;
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
};
TORCH_MODULE(ProbeHead);

}  // namespace mert::probe
