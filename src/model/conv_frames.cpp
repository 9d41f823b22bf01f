#include "model/conv_frames.h"

#include "mert/error.h"

#include <ATen/ATen.h>
#include <torch/autograd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>

namespace mert {

namespace {

// Input rows s*t+first .. s*t+first+w-1 of every output frame t of one item: [n, w*C], row
// stride s*C (at least the width, so BLAS reads or writes it in place).
at::Tensor taps(const at::Tensor& item, int64_t n, int64_t stride, int64_t first, int64_t w) {
  const int64_t C = item.size(1);
  return item.as_strided({n, w * C}, {stride * C, 1}, item.storage_offset() + first * C);
}

struct ConvFramesFn : public torch::autograd::Function<ConvFramesFn> {
  // w: [k*C_in, C_out], rows ordered (tap, input channel); bias: [C_out] or empty (none:
  // autograd Functions take no undefined tensors).
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& w,
                            const at::Tensor& bias, int64_t kernel, int64_t stride) {
    const int64_t B = x.size(0), C = x.size(2), n = (x.size(1) - kernel) / stride + 1;
    at::Tensor out = at::empty({B, n, w.size(1)}, x.options());
    const int64_t w0 = std::min(kernel, stride);
    for (int64_t b = 0; b < B; ++b) {
      const at::Tensor xb = x[b];
      at::Tensor ob = out[b];
      if (bias.numel() > 0) at::addmm_out(ob, bias, taps(xb, n, stride, 0, w0), w.narrow(0, 0, w0 * C));
      else at::mm_out(ob, taps(xb, n, stride, 0, w0), w.narrow(0, 0, w0 * C));
      for (int64_t first = w0; first < kernel; first += stride) {
        const int64_t wd = std::min(stride, kernel - first);
        ob.addmm_(taps(xb, n, stride, first, wd), w.narrow(0, first * C, wd * C));
      }
    }
    ctx->save_for_backward({x, w});
    ctx->saved_data["kernel"] = kernel;
    ctx->saved_data["stride"] = stride;
    ctx->saved_data["bias"] = bias.numel() > 0;
    return out;
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &x = saved[0], &w = saved[1];
    const at::Tensor g = grads[0].contiguous();
    const int64_t kernel = ctx->saved_data["kernel"].toInt(), stride = ctx->saved_data["stride"].toInt();
    const int64_t B = x.size(0), C = x.size(2), n = g.size(1);
    const bool want_x = ctx->needs_input_grad(0), want_w = ctx->needs_input_grad(1);
    // With k >= s the first tap group covers input rows [0, s*n) exactly once, so it can write
    // the input gradient instead of adding to zeros (the front end's gradients are hundreds of
    // MB; filling them cost more than the products that follow).
    const bool cover = kernel >= stride;
    at::Tensor gx = want_x ? (cover ? at::empty_like(x) : at::zeros_like(x)) : at::Tensor();
    at::Tensor gw = want_w ? at::zeros_like(w) : at::Tensor();
    for (int64_t b = 0; b < B; ++b) {
      const at::Tensor xb = x[b], gb = g[b];
      at::Tensor gxb = want_x ? gx[b] : at::Tensor();
      if (want_x && cover) gxb.narrow(0, stride * n, gxb.size(0) - stride * n).zero_();
      for (int64_t first = 0; first < kernel; first += stride) {
        const int64_t wd = std::min(stride, kernel - first);
        const at::Tensor rows = w.narrow(0, first * C, wd * C);
        if (want_w) gw.narrow(0, first * C, wd * C).addmm_(taps(xb, n, stride, first, wd).t(), gb);
        if (want_x) {
          at::Tensor view = taps(gxb, n, stride, first, wd);  // strided rows of gx, written in place
          if (first == 0 && cover) at::mm_out(view, gb, rows.t());
          else view.addmm_(gb, rows.t());
        }
      }
    }
    at::Tensor gbias;
    if (ctx->saved_data["bias"].toBool() && ctx->needs_input_grad(2)) gbias = g.sum(at::IntArrayRef{0, 1});
    return {gx, gw, gbias, at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor conv_frames(const at::Tensor& x_in, const at::Tensor& weight, const at::Tensor& bias, int64_t stride) {
  if (x_in.dim() != 3 || weight.dim() != 3 || x_in.size(2) != weight.size(1))
    throw Error("conv_frames: input must be [B, frames, " + std::to_string(weight.size(1)) + "]");
  const int64_t kernel = weight.size(2);
  if (stride < 1 || x_in.size(1) < kernel) throw Error("conv_frames: input shorter than the kernel");
  const at::Tensor x = x_in.contiguous();
  // [C_out, C_in, k] -> [k*C_in, C_out] (tap, input channel) rows; differentiable, so the
  // weight's gradient comes back to torch's layout through autograd.
  const at::Tensor w = weight.permute({2, 1, 0}).reshape({kernel * weight.size(1), weight.size(0)});
  return ConvFramesFn::apply(x, w, bias.defined() ? bias : at::empty({0}, x.options()), kernel, stride);
}

bool conv_frames_enabled() {
  static const bool on = [] {
    const char* v = std::getenv("MERT_CONV_TRAIN");
    return !(v && std::strcmp(v, "libtorch") == 0);
  }();
  return on;
}

}  // namespace mert
