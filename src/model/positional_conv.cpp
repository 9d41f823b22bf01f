#include "model/positional_conv.h"

#include "model/gelu.h"

#include <torch/nn/functional/activation.h>
#include <ATen/core/grad_mode.h>

#include <algorithm>

namespace mert {

WeightNormConv1dImpl::WeightNormConv1dImpl(int64_t channels, int64_t kernel_, int64_t groups_)
    : kernel(kernel_), groups(groups_) {
  weight_v = register_parameter("weight_v", torch::randn({channels, channels / groups, kernel}) * 0.02);
  weight_g = register_parameter("weight_g", torch::ones({1, 1, kernel}));
  bias = register_parameter("bias", torch::zeros({channels}));
}

torch::Tensor WeightNormConv1dImpl::compute_effective_weight() const {
  // Norm over output and input channels for each kernel tap (dim=2 kept).
  auto norm = weight_v.pow(2).sum(at::IntArrayRef{0, 1}, /*keepdim=*/true).sqrt();
  return weight_g * weight_v / norm;
}

bool WeightNormConv1dImpl::cache_is_current() const {
  // In-place updates (optimizer steps, load_state_dict) move a tensor's version counter;
  // a dtype change or module->to() gives it new storage.
  std::vector<int64_t> key;
  for (const auto* t : {&weight_v, &weight_g}) {
    key.push_back(static_cast<int64_t>(t->_version()));
    key.push_back(reinterpret_cast<int64_t>(t->data_ptr()));
    key.push_back(static_cast<int64_t>(t->scalar_type()));
  }
  if (key == cache_key_ && cached_weight_.defined()) return true;
  cache_key_ = std::move(key);
  cached_weight_ = at::Tensor();
  cached_gemm_weight_ = at::Tensor();
  return false;
}

torch::Tensor WeightNormConv1dImpl::effective_weight() const {
  if (at::GradMode::is_enabled()) return compute_effective_weight();
  if (!cache_is_current()) cached_weight_ = compute_effective_weight();
  return cached_weight_;
}

torch::Tensor WeightNormConv1dImpl::grouped_gemm_weight() const {
  const auto w = effective_weight();
  if (cached_gemm_weight_.defined() && !at::GradMode::is_enabled()) return cached_gemm_weight_;
  const int64_t C = w.size(0), cg = C / groups;
  // [G, cg_out, cg_in, k] -> [G, k, cg_in, cg_out] -> [G, k*cg_in, cg_out]
  auto g = w.view({groups, cg, cg, kernel}).permute({0, 3, 2, 1}).reshape({groups, kernel * cg, cg}).contiguous();
  if (!at::GradMode::is_enabled()) cached_gemm_weight_ = g;
  return g;
}

PositionalConvEmbeddingImpl::PositionalConvEmbeddingImpl(const ModelConfig& cfg) {
  conv = register_module("conv", WeightNormConv1d(cfg.hidden_size, cfg.num_conv_pos_embeddings,
                                                  cfg.num_conv_pos_embedding_groups));
}

namespace {

// The grouped conv as batched GEMMs over a group-major copy of the input: for group g, output
// frame t reads padded input frames t .. t+k-1 of that group's channels, which in a
// [G, frames, C/G] layout is one contiguous run of k*C/G values, so im2col is a strided view
// copied a chunk of frames at a time (16 MiB of patches for MERT-95M at 64 frames).
at::Tensor grouped_conv_as_gemm(const at::Tensor& x, const WeightNormConv1dImpl& conv) {
  const int64_t B = x.size(0), T = x.size(1), C = x.size(2), G = conv.groups, cg = C / G, k = conv.kernel;
  const at::Tensor w = conv.grouped_gemm_weight();  // [G, k*cg, cg]
  const int64_t pad = k / 2, frames = T + 2 * pad;
  at::Tensor out = at::empty({B, T, C}, x.options());
  constexpr int64_t kChunk = 64;
  for (int64_t b = 0; b < B; ++b) {
    at::Tensor xg = at::zeros({G, frames, cg}, x.options());
    xg.narrow(1, pad, T).copy_(x[b].view({T, G, cg}).transpose(0, 1));
    for (int64_t t0 = 0; t0 < T; t0 += kChunk) {
      const int64_t n = std::min(kChunk, T - t0);
      const at::Tensor patches = xg.as_strided({G, n, k * cg}, {frames * cg, cg, 1}, t0 * cg).contiguous();
      out[b].narrow(0, t0, n).view({n, G, cg}).transpose(0, 1).copy_(at::bmm(patches, w));
    }
  }
  return out.add_(conv.bias);
}

}  // namespace

torch::Tensor PositionalConvEmbeddingImpl::forward(const torch::Tensor& x) {
  const int64_t T = x.size(1);
  // bf16 inference: oneDNN's bf16 grouped conv runs at a third of its GEMM speed on this
  // model's shape (16 groups, kernel 128); for fp32 its conv beats libtorch 1.13's fp32 bmm.
  if (!at::GradMode::is_enabled() && x.scalar_type() == at::kBFloat16) {
    at::Tensor y = grouped_conv_as_gemm(x, *conv);
    return at::gelu_(y);
  }
  auto y = torch::conv1d(x.transpose(1, 2), conv->effective_weight(), conv->bias, /*stride=*/1,
                         /*padding=*/conv->kernel / 2, /*dilation=*/1, conv->groups);
  // An even kernel with symmetric padding yields T+1 frames; HF's "same pad" drops the last.
  if (y.size(2) > T) y = y.narrow(2, 0, T);
  return gelu_with_safe_backward(y).transpose(1, 2);
}

}  // namespace mert
