#pragma once
// The epoch control of every probe head (MARBLE's): after each epoch the validation monitor
// decides whether this is the best epoch so far (strict improvement; its weights are kept),
// whether to stop (early_stop_patience epochs without a new best), and whether to halve the
// learning rate (PyTorch's ReduceLROnPlateau, mode max, factor 0.5, relative threshold 1e-4).
// EpochControl applies it to a head and its optimiser.
#include <torch/nn/module.h>
#include <torch/optim/adam.h>

#include <cmath>
#include <limits>
#include <vector>

namespace mert::probe {

class EpochSchedule {
 public:
  EpochSchedule(double lr, int plateau_patience, int early_stop_patience)
      : lr_(lr), plateau_patience_(plateau_patience), early_stop_patience_(early_stop_patience) {}

  struct Decision {
    bool best = false;        // keep this epoch's weights
    bool stop = false;        // no more epochs
    bool lr_changed = false;  // lr() was halved
  };
  // A non-finite monitor counts as the worst possible value.
  Decision after_epoch(double monitor) {
    const double m = std::isfinite(monitor) ? monitor : -std::numeric_limits<double>::infinity();
    Decision d;
    if (m > best_) {
      best_ = m;
      wait_ = 0;
      d.best = true;
    } else if (++wait_ >= early_stop_patience_) {
      d.stop = true;
      return d;
    }
    if (m > plateau_best_ * (1 + 1e-4)) {
      plateau_best_ = m;
      plateau_bad_ = 0;
    } else if (++plateau_bad_ > plateau_patience_) {
      lr_ *= 0.5;
      plateau_bad_ = 0;
      d.lr_changed = true;
    }
    return d;
  }
  double lr() const { return lr_; }

 private:
  double lr_;
  int plateau_patience_, early_stop_patience_;
  double best_ = -std::numeric_limits<double>::infinity();
  double plateau_best_ = -std::numeric_limits<double>::infinity();
  int wait_ = 0, plateau_bad_ = 0;
};

// EpochSchedule applied to a head and its optimiser: the best epoch's weights (parameters and
// buffers) are kept, the optimiser's learning rate follows the schedule.
class EpochControl {
 public:
  EpochControl(torch::nn::Module& head, torch::optim::Adam& opt, double lr, int plateau_patience, int early_stop_patience)
      : head_(head), opt_(opt), schedule_(lr, plateau_patience, early_stop_patience) {}

  // After epoch `epoch`'s validation; true when training should stop.
  bool after_epoch(int epoch, double monitor) {
    const auto d = schedule_.after_epoch(monitor);
    if (d.best) {
      best_epoch_ = epoch;
      best_.clear();
      for (const auto& p : head_.parameters()) best_.push_back(p.detach().clone());
      for (const auto& b : head_.buffers()) best_.push_back(b.detach().clone());
    }
    if (d.lr_changed)
      for (auto& g : opt_.param_groups()) static_cast<torch::optim::AdamOptions&>(g.options()).lr(schedule_.lr());
    return d.stop;
  }
  // The best epoch's weights back into the head (the initial ones if no epoch was scored).
  void restore_best() {
    if (best_.empty()) return;
    torch::NoGradGuard no_grad;
    size_t k = 0;
    for (auto& p : head_.parameters()) p.copy_(best_[k++]);
    for (auto& b : head_.buffers()) b.copy_(best_[k++]);
  }
  int best_epoch() const { return best_epoch_; }

 private:
  torch::nn::Module& head_;
  torch::optim::Adam& opt_;
  EpochSchedule schedule_;
  std::vector<at::Tensor> best_;
  int best_epoch_ = 0;
};

}  // namespace mert::probe
