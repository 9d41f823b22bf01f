#pragma once
// Dropout for training whose mask is a hash of (seed, element index) instead of a stored tensor.
//
// Why: libtorch 1.13's CPU dropout draws a Bernoulli tensor serially from the generator, scales
// it and multiplies - three passes, one of them single-threaded - and keeps the mask for
// backward (for the attention probabilities of a 95M step, 27 MB per layer). Here one draw from
// the default generator seeds the call; the mask bit of element i is a function of (seed, i), so
// forward and backward are one parallel pass each, the mask is recomputed instead of stored, and
// results do not depend on the thread count. Other devices and dtypes use torch::dropout.
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace mert {

// Training-mode dropout: zeroes each element with probability p and scales the rest by 1/(1-p).
at::Tensor hashed_dropout(const at::Tensor& x, double p);

// The mask hashed_dropout applies for `seed`, as 0/1 floats shaped like x (for tests).
at::Tensor hashed_dropout_mask(const at::Tensor& x, double p, uint64_t seed);

}  // namespace mert
