#include "train/adamw.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <cmath>

#include "mert/error.h"

namespace mert::train {

AdamW::AdamW(std::vector<std::pair<std::string, at::Tensor>> params, AdamWOptions opts)
    : params_(std::move(params)), opts_(opts) {
  for (const auto& [name, p] : params_) {
    exp_avg_.push_back(at::zeros_like(p, at::MemoryFormat::Contiguous));
    exp_avg_sq_.push_back(at::zeros_like(p, at::MemoryFormat::Contiguous));
  }
}

void AdamW::step(double lr) {
  at::NoGradGuard no_grad;
  ++steps_;
  const double bias1 = 1.0 - std::pow(opts_.beta1, static_cast<double>(steps_));
  const double bias2 = 1.0 - std::pow(opts_.beta2, static_cast<double>(steps_));
  const double step_size = lr * std::sqrt(bias2) / bias1;
  for (size_t i = 0; i < params_.size(); ++i) {
    at::Tensor p = params_[i].second;
    const at::Tensor& g = p.grad();
    if (!g.defined()) continue;
    exp_avg_[i].mul_(opts_.beta1).add_(g, 1.0 - opts_.beta1);
    exp_avg_sq_[i].mul_(opts_.beta2).addcmul_(g, g, 1.0 - opts_.beta2);
    auto denom = exp_avg_sq_[i].sqrt().add_(opts_.eps);
    if (opts_.weight_decay != 0) p.add_(p, -opts_.weight_decay * lr);
    p.addcdiv_(exp_avg_[i], denom, -step_size);
  }
}

TensorMap AdamW::state() const {
  TensorMap out;
  for (size_t i = 0; i < params_.size(); ++i) {
    out["exp_avg." + params_[i].first] = exp_avg_[i];
    out["exp_avg_sq." + params_[i].first] = exp_avg_sq_[i];
  }
  return out;
}

void AdamW::restore(const TensorMap& state, int64_t steps_taken, const std::string& origin) {
  at::NoGradGuard no_grad;
  auto take = [&](const std::string& key, at::Tensor& dst) {
    auto it = state.find(key);
    if (it == state.end()) throw Error(origin + ": optimiser state '" + key + "' is missing");
    if (it->second.sizes() != dst.sizes())
      throw Error(origin + ": optimiser state '" + key + "' has the wrong shape");
    dst.copy_(it->second);
  };
  for (size_t i = 0; i < params_.size(); ++i) {
    take("exp_avg." + params_[i].first, exp_avg_[i]);
    take("exp_avg_sq." + params_[i].first, exp_avg_sq_[i]);
  }
  steps_ = steps_taken;
}

}  // namespace mert::train
