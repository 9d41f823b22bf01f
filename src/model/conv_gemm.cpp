#include "model/conv_gemm.h"

#include <ATen/ATen.h>

#include "mert/error.h"

namespace mert {

ConvGemm ConvGemm::from_conv(const at::Tensor& conv_weight, const at::Tensor& bias, int64_t stride) {
  ConvGemm g;
  g.kernel = conv_weight.size(2);
  g.stride = stride;
  g.in_ch = conv_weight.size(1);
  g.bias = bias;
  // One layout per layer, for the route forward() takes (weights are re-laid out every pass).
  if (conv_weight.scalar_type() == at::kBFloat16 && at::hasMKLDNN() && !g.narrow())
    g.image_weight = conv_weight.unsqueeze(2).contiguous(at::MemoryFormat::ChannelsLast);
  else
    g.weight = conv_weight.permute({2, 1, 0}).reshape({g.kernel * g.in_ch, conv_weight.size(0)}).contiguous();
  return g;
}

ConvGemm ConvGemm::from_int8(const Int8Weight& w, int64_t kernel, int64_t stride) {
  ConvGemm g;
  g.kernel = kernel;
  g.stride = stride;
  g.in_ch = w.in / kernel;
  g.int8 = w;
  return g;
}

at::Tensor ConvGemm::forward_gelu(const at::Tensor& x) const {
  if (int8.defined()) return int8_conv_frames(x, int8, kernel, stride, /*gelu=*/true);
  at::Tensor y = forward(x);
  return at::gelu_(y);
}

at::Tensor ConvGemm::forward(const at::Tensor& input) const {
  if (input.dim() != 2 || input.size(1) != in_ch)
    throw Error("ConvGemm: input must be [frames, " + std::to_string(in_ch) + "]");
  const at::Tensor x = input.contiguous();
  const int64_t n = out_frames(x.size(0)), row = stride * in_ch;
  // Input rows s*t+first .. s*t+first+w-1 for every output frame t: [n, w*C_in], row stride s*C.
  auto taps = [&](int64_t first, int64_t w) {
    return x.as_strided({n, w * in_ch}, {row, 1}, x.storage_offset() + first * in_ch);
  };
  auto rows_of = [&](int64_t first, int64_t w) { return weight.narrow(0, first * in_ch, w * in_ch); };
  auto product = [&](const at::Tensor& a, const at::Tensor& b) {
    return bias.defined() ? at::addmm(bias, a, b) : at::mm(a, b);
  };
  if (int8.defined()) return int8_conv_frames(x, int8, kernel, stride);
  if (narrow()) return product(taps(0, kernel).contiguous(), weight);  // small patch copy
  if (image_weight.defined()) {
    // [n_in, C] is the memory of a channels-last [1, C, 1, n_in] image, and the output
    // [1, C_out, 1, n] comes back channels-last, i.e. as a contiguous [n, C_out].
    at::Tensor y = at::conv2d(x.t().unsqueeze(0).unsqueeze(2), image_weight, bias, at::IntArrayRef{1, stride});
    return y.squeeze(2).squeeze(0).t();
  }
  const int64_t w0 = std::min(kernel, stride);
  at::Tensor out = product(taps(0, w0), rows_of(0, w0));
  for (int64_t first = w0; first < kernel; first += stride) {
    const int64_t w = std::min(stride, kernel - first);
    out.addmm_(taps(first, w), rows_of(first, w));
  }
  return out;
}

}  // namespace mert
