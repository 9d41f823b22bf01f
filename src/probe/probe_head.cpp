#include "probe/probe_head.h"

#include <torch/torch.h>

#include <cmath>

namespace mert::probe {
namespace {

torch::nn::Linear make_linear(int64_t in, int64_t out, at::Generator& gen) {
  torch::nn::Linear l(in, out);
  torch::NoGradGuard no_grad;
  const double bound = 1.0 / std::sqrt(static_cast<double>(in));
  l->weight.uniform_(-bound, bound, gen);
  l->bias.uniform_(-bound, bound, gen);
  return l;
}

}  // namespace

ProbeHeadImpl::ProbeHeadImpl(int64_t dim, int64_t hidden, int64_t outputs, int64_t weighted_layers, double dropout,
                             at::Generator gen)
    : dropout_(dropout), gen_(std::move(gen)) {
  if (weighted_layers > 0)
    layer_weights_ = register_parameter("layer_weights", at::randn({weighted_layers}, gen_, torch::kFloat));
  fc1_ = register_module("fc1", make_linear(dim, hidden, gen_));
  fc2_ = register_module("fc2", make_linear(hidden, outputs, gen_));
}

torch::Tensor ProbeHeadImpl::forward(const torch::Tensor& x) {
  torch::Tensor h = x;
  if (layer_weights_.defined()) h = torch::einsum("l,nld->nd", {torch::softmax(layer_weights_, 0), x});
  h = torch::relu(fc1_(h));
  if (is_training() && dropout_ > 0) {  // inverted dropout, with the head's own generator
    const auto keep = torch::empty_like(h).bernoulli_(1.0 - dropout_, gen_);
    h = h * keep / (1.0 - dropout_);
  }
  return fc2_(h);
}

torch::Tensor ProbeHeadImpl::layer_mix() const {
  return layer_weights_.defined() ? torch::softmax(layer_weights_.detach(), 0) : torch::Tensor();
}

}  // namespace mert::probe
