#pragma once
// Sets CPU autocast for a scope and restores the previous state after it. Pre-training turns it
// on around the model (bf16 matrix products) and off around the loss heads (float32 logits).
#include <ATen/autocast_mode.h>

namespace mert::train {

class CpuAutocast {
 public:
  explicit CpuAutocast(bool enabled, at::ScalarType dtype = at::kBFloat16)
      : was_enabled_(at::autocast::is_cpu_enabled()), was_dtype_(at::autocast::get_autocast_cpu_dtype()) {
    at::autocast::set_autocast_cpu_dtype(dtype);
    at::autocast::set_cpu_enabled(enabled);
  }
  ~CpuAutocast() {
    at::autocast::set_cpu_enabled(was_enabled_);
    at::autocast::set_autocast_cpu_dtype(was_dtype_);
    if (!was_enabled_) at::autocast::clear_cache();  // leaving the outermost autocast region
  }
  CpuAutocast(const CpuAutocast&) = delete;
  CpuAutocast& operator=(const CpuAutocast&) = delete;

 private:
  bool was_enabled_;
  at::ScalarType was_dtype_;
};

}  // namespace mert::train
