#include "model/batched_matmul.h"

#include "mert/error.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <torch/autograd.h>

#include <cstdlib>
#include <cstring>
#include <vector>

namespace mert {

namespace {

bool own_kernel_enabled() {
  static const bool on = [] {
    const char* v = std::getenv("MERT_BMM");
    return !(v && std::strcmp(v, "libtorch") == 0);
  }();
  return on;
}

// Whether the float32 CPU product goes through our loop; bf16 and other devices do not.
bool use_own_kernel(const at::Tensor& a, const at::Tensor& b) {
  return own_kernel_enabled() && a.device().is_cpu() && a.scalar_type() == at::kFloat &&
         b.scalar_type() == at::kFloat;
}

// The 2-D matrices of a [..., R, C] tensor, as views (no copies; any strides).
std::vector<at::Tensor> matrices(const at::Tensor& t) {
  const int64_t n = t.numel() == 0 ? 0 : t.numel() / (t.size(-1) * t.size(-2));
  std::vector<at::Tensor> out;
  out.reserve(n);
  const int64_t lead = t.dim() - 2;
  std::vector<int64_t> index(lead, 0);
  for (int64_t i = 0; i < n; ++i) {
    at::Tensor m = t;
    for (int64_t d = 0; d < lead; ++d) m = m.select(0, index[d]);
    out.push_back(m);
    for (int64_t d = lead - 1; d >= 0; --d) {  // next multi-index
      if (++index[d] < t.size(d)) break;
      index[d] = 0;
    }
  }
  return out;
}

// The product without autograd: whole products per thread, each a single-threaded BLAS call
// (inside a parallel region ATen and OpenBLAS do not split further). The inputs are detached:
// grad mode is thread-local and on in the pool's threads, where an out= product of tensors that
// require grad is refused.
at::Tensor product(const at::Tensor& a_in, const at::Tensor& b_in) {
  const at::Tensor a = a_in.detach(), b = b_in.detach();
  std::vector<int64_t> shape(a.sizes().begin(), a.sizes().end() - 1);
  shape.push_back(b.size(-1));
  at::Tensor out = at::empty(shape, a.options());
  const std::vector<at::Tensor> as = matrices(a), bs = matrices(b), outs = matrices(out);
  at::parallel_for(0, static_cast<int64_t>(outs.size()), 1, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      at::Tensor o = outs[i];
      at::mm_out(o, as[i], bs[i]);
    }
  });
  return out;
}

struct BatchedMatmulFn : public torch::autograd::Function<BatchedMatmulFn> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& a, const at::Tensor& b) {
    ctx->save_for_backward({a, b});
    return product(a, b);
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &a = saved[0], &b = saved[1], &g = grads[0];
    at::Tensor ga, gb;
    if (ctx->needs_input_grad(0)) ga = product(g, b.transpose(-2, -1));
    if (ctx->needs_input_grad(1)) gb = product(a.transpose(-2, -1), g);
    return {ga, gb};
  }
};

}  // namespace

at::Tensor batched_matmul(const at::Tensor& a_in, const at::Tensor& b_in) {
  if (a_in.dim() < 3 || a_in.dim() != b_in.dim())
    throw Error("batched_matmul: inputs must be [..., M, K] and [..., K, N] with the same leading dims");
  if (a_in.sizes().slice(0, a_in.dim() - 2) != b_in.sizes().slice(0, b_in.dim() - 2) ||
      a_in.size(-1) != b_in.size(-2))
    throw Error("batched_matmul: shapes do not match");
  at::Tensor a = a_in, b = b_in;
  if (a.device().is_cpu() && at::autocast::is_cpu_enabled()) {
    const auto dt = at::autocast::get_autocast_cpu_dtype();
    if (a.is_floating_point() && a.scalar_type() != dt) a = a.to(dt);
    if (b.is_floating_point() && b.scalar_type() != dt) b = b.to(dt);
  }
  if (!use_own_kernel(a, b)) return at::matmul(a, b);
  if (a.requires_grad() || b.requires_grad()) return BatchedMatmulFn::apply(a, b);
  return product(a, b);
}

std::string batched_matmul_kernel_name() {
  return own_kernel_enabled() ? "mert per-thread" : "libtorch bmm";
}

}  // namespace mert
