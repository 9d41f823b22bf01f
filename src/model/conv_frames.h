#pragma once
// A strided 1-D convolution on time-major activations ([B, frames, channels]) with its own
// backward, for training the conv front end (layers 1..6).
//
// Why: libtorch's channels-first conv and its backward (oneDNN) ran the front end's share of a
// pre-training step (a fifth of it in fp32) well below the machine's GEMM rate. Output frame t
// reads input rows s*t .. s*t+k-1; splitting the k taps into groups of at most s taps makes each
// group a strided matrix view that BLAS reads (and, for the input gradient, writes) in place, so
// forward, weight gradient and input gradient are ceil(k/s) large GEMMs each per item, with no
// im2col copies. Inference has its own tiled version (model/conv_gemm.h).
#include <ATen/core/Tensor.h>

namespace mert {

// x: [B, n_in, C_in] (made contiguous); weight: [C_out, C_in, k] as torch's Conv1d stores it;
// bias: [C_out] or undefined. Returns [B, (n_in - k) / stride + 1, C_out], differentiable in
// x, weight and bias.
at::Tensor conv_frames(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, int64_t stride);

// Whether the training front end uses conv_frames (default) or libtorch's conv1d
// (MERT_CONV_TRAIN=libtorch, the reference path).
bool conv_frames_enabled();

}  // namespace mert
