#pragma once
// Batched matrix product for attention ([..., M, K] x [..., K, N]), forward and backward.
//
// Why: libtorch 1.13's CPU bmm in float32 is a serial loop of small BLAS calls, each split over
// the intra-op threads: the scores of a 95M layer (48 products of 374x64x374 for a batch of 4)
// run at a tenth of the rate one large product reaches, on both mert's and PyTorch's training
// step and in fp32 inference. Here every thread takes whole products and runs them single-
// threaded. Gradients go through the same kernel (an autograd Function), so training gains in
// backward too. bf16 keeps libtorch's oneDNN bmm, which is fine; other devices use at::matmul.
#include <ATen/core/Tensor.h>

#include <string>

namespace mert {

// a [..., M, K] x b [..., K, N] -> [..., M, N]; the leading dims must be equal (no broadcasting).
// Any strides (transposed views are read in place). Under CPU autocast, float inputs are cast to
// the autocast dtype first, as at::matmul would.
at::Tensor batched_matmul(const at::Tensor& a, const at::Tensor& b);

// "mert per-thread" or "libtorch bmm" (MERT_BMM=libtorch), for the bench's kernels column.
std::string batched_matmul_kernel_name();

}  // namespace mert
