#pragma once
// Softmax over the last dimension for attention scores at inference. libtorch 1.13's bf16
// softmax spends ~0.75 ns per score here (a sixth of a bf16 MERT pass), and converting to float
// and back costs more than it saves; this one reads bf16, works in float registers and writes
// bf16 back in place (AVX-512). Other dtypes, devices and CPUs, and autograd, use torch's.
#include <ATen/core/Tensor.h>

namespace mert {

// softmax(x, -1); may overwrite x and return it.
at::Tensor softmax_last_dim(at::Tensor x);

}  // namespace mert
