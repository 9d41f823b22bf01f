#pragma once
// AdamW as fairseq's `adam` optimiser applies it (decoupled weight decay applied to every
// parameter before the Adam step, bias-corrected moments), over a fixed list of named
// parameters. Written out rather than taken from torch::optim so that its state is plain named
// tensors that go into our checkpoints and resume bit for bit.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "io/weights.h"

namespace mert::train {

struct AdamWOptions {
  double beta1 = 0.9, beta2 = 0.98, eps = 1e-6, weight_decay = 0.01;
};

class AdamW {
 public:
  AdamW(std::vector<std::pair<std::string, at::Tensor>> params, AdamWOptions opts);
  // One update with learning rate `lr` from the parameters' current .grad() (float32).
  // Parameters without a gradient are left alone (their moments too).
  void step(double lr);
  int64_t steps_taken() const { return steps_; }

  // exp_avg.<name>, exp_avg_sq.<name>; restore() checks names and shapes (mert::Error).
  TensorMap state() const;
  void restore(const TensorMap& state, int64_t steps_taken, const std::string& origin);

 private:
  std::vector<std::pair<std::string, at::Tensor>> params_;
  std::vector<at::Tensor> exp_avg_, exp_avg_sq_;
  AdamWOptions opts_;
  int64_t steps_ = 0;
};

}  // namespace mert::train
