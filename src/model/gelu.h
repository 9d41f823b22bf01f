#pragma once
// Exact (erf) GELU for every activation of the model.
//
// Why not plain at::gelu when training: libtorch 1.13's float32 GELU backward returns garbage
// (zeros, inf or 1e29) when the incoming gradient is not contiguous - which it is whenever a
// transpose follows the GELU, as after the conv front end and the positional conv. Reproduced
// with Debian's python3-torch 1.13; float64 is unaffected. A hook makes that gradient contiguous
// (a no-op when it already is). tests/train/test_gelu_backward.cpp guards this.
#include <ATen/ATen.h>

namespace mert {

inline at::Tensor gelu_with_safe_backward(const at::Tensor& x) {
  at::Tensor y = at::gelu(x);
  if (y.requires_grad()) y.register_hook([](at::Tensor g) { return g.contiguous(); });
  return y;
}

}  // namespace mert
