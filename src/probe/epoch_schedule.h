#pragma once
// The epoch control of every probe head (MARBLE's): after each epoch the validation monitor
// decides whether this is the best epoch so far (strict improvement; its weights are kept),
// whether to stop (early_stop_patience epochs without a new best), and whether to halve the
// learning rate (PyTorch's ReduceLROnPlateau, mode max, factor 0.5, relative threshold 1e-4).
#include <cmath>
#include <limits>

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

}  // namespace mert::probe
