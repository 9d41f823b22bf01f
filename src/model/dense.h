#pragma once
// The model's Linear layer: torch's Linear (same `weight`/`bias` parameters and names) that can
// also hold an int8 copy of its weight for inference. With one, forward runs an int8 product
// (weights quantized once per output channel, int32 accumulation), and autograd is not available
// through it. On CPUs with AVX-512 VNNI that is mert's own kernel (model/int8_gemm.h: activations
// quantized per token); elsewhere libtorch's dynamic int8 product (activations per call).
#include <ATen/core/ivalue.h>
#include <torch/nn/modules/linear.h>

#include <string>

#include "model/int8_gemm.h"

namespace mert {

class DenseImpl : public torch::nn::LinearImpl {
 public:
  using torch::nn::LinearImpl::LinearImpl;
  at::Tensor forward(const at::Tensor& x);
  // GELU(forward(x)) (exact erf GELU); the VNNI int8 kernel applies it before rounding.
  at::Tensor forward_gelu(const at::Tensor& x);
  // Quantizes the current weight (symmetric, per output channel) and packs it for the int8
  // engine; throws mert::Error if this libtorch has no quantized CPU engine.
  void quantize_int8();
  bool is_int8() const { return vnni_weight_.defined() || int8_weight_.isObject(); }

 private:
  void pack_libtorch_int8();
  void check_int8_input(const at::Tensor& x) const;
  Int8Weight vnni_weight_;   // mert's VNNI kernel
  c10::IValue int8_weight_;  // or libtorch's LinearPackedParamsBase
};
TORCH_MODULE(Dense);

// Whether quantize_int8 can run here: mert's VNNI kernel, or a oneDNN or FBGEMM quantized engine.
bool int8_engine_available();
// Which int8 product runs: "mert VNNI int8 (per-token)" or "libtorch dynamic int8" ("" if none).
// MERT_INT8_KERNEL=libtorch chooses libtorch's even where the VNNI kernel could run
// (int8_vnni_enabled()).
std::string int8_kernel_name();

}  // namespace mert
