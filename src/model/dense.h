#pragma once
// The model's Linear layer: torch's Linear (same `weight`/`bias` parameters and names) that can
// also hold an int8 copy of its weight for inference. With one, forward runs libtorch's dynamic
// int8 product (weights quantized once per output channel, activations per call, int32
// accumulation; oneDNN with AVX-512 VNNI here), and autograd is not available through it.
#include <ATen/core/ivalue.h>
#include <torch/nn/modules/linear.h>

namespace mert {

class DenseImpl : public torch::nn::LinearImpl {
 public:
  using torch::nn::LinearImpl::LinearImpl;
  at::Tensor forward(const at::Tensor& x);
  // Quantizes the current weight (symmetric, per output channel) and packs it for the int8
  // engine; throws mert::Error if this libtorch has no quantized CPU engine.
  void quantize_int8();
  bool is_int8() const { return int8_weight_.isObject(); }

 private:
  c10::IValue int8_weight_;  // LinearPackedParamsBase
};
TORCH_MODULE(Dense);

// Whether this libtorch can run quantize_int8 (a oneDNN or FBGEMM quantized engine).
bool int8_engine_available();

}  // namespace mert
