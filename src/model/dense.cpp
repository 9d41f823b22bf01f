#include "model/dense.h"

#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/grad_mode.h>
#include <ATen/core/stack.h>

#include <string>

#include "mert/error.h"
#include "model/gelu.h"

namespace mert {
namespace {

// Picks the quantized engine once: oneDNN (VNNI kernels, what Debian's libtorch has), else FBGEMM.
bool select_engine() {
  const auto& engines = at::globalContext().supportedQEngines();
  for (auto want : {at::QEngine::ONEDNN, at::QEngine::FBGEMM})
    for (auto e : engines)
      if (e == want) {
        at::globalContext().setQEngine(e);
        return true;
      }
  return false;
}

c10::OperatorHandle op(const char* name) {
  return c10::Dispatcher::singleton().findSchemaOrThrow(name, "");
}

bool libtorch_int8_available() {
  static const bool ok = select_engine();
  return ok;
}

}  // namespace

bool int8_engine_available() { return int8_vnni_enabled() || libtorch_int8_available(); }

std::string int8_kernel_name() {
  if (int8_vnni_enabled()) return "mert VNNI int8 (per-token)";
  return libtorch_int8_available() ? "libtorch dynamic int8" : "";
}

void DenseImpl::quantize_int8() {
  if (!int8_engine_available())
    throw Error("int8 needs AVX-512 VNNI or a quantized CPU engine (oneDNN or FBGEMM) in libtorch");
  at::NoGradGuard no_grad;
  if (int8_vnni_enabled()) {
    vnni_weight_ = pack_int8_weight(weight, bias);
  } else {
    pack_libtorch_int8();
  }
  // The packed copy is all forward reads from now on; drop the float weight's storage (for
  // MERT-95M, 170 MB in bf16). The parameter keeps its name with no data: the layer is
  // inference-only, and state_dict() / saving refuse it (see model_state).
  weight.set_(at::empty({0}, weight.options()));
}

void DenseImpl::pack_libtorch_int8() {
  const at::Tensor w = weight.to(at::kFloat);
  const at::Tensor scales = (w.abs().amax(1).to(at::kDouble) / 127.0).clamp_min(1e-12);
  const at::Tensor zeros = at::zeros({w.size(0)}, at::kLong);
  const at::Tensor qw = at::quantize_per_channel(w, scales, zeros, 0, at::kQInt8);
  torch::jit::Stack stack{qw, bias.defined() ? c10::IValue(bias.to(at::kFloat)) : c10::IValue()};
  op("quantized::linear_prepack").callBoxed(&stack);
  int8_weight_ = stack.at(0);
}

at::Tensor DenseImpl::forward_gelu(const at::Tensor& x) {
  if (vnni_weight_.defined()) {
    check_int8_input(x);
    return int8_linear(x, vnni_weight_, /*gelu=*/true);
  }
  return gelu_with_safe_backward(forward(x));
}

void DenseImpl::check_int8_input(const at::Tensor& x) const {
  if (x.size(-1) != options.in_features())
    throw Error("int8 layer expects " + std::to_string(options.in_features()) + " input features, got " +
                std::to_string(x.size(-1)));
  if (at::GradMode::is_enabled() && x.requires_grad())
    throw Error("an int8 layer has no gradient: run it without autograd");
}

at::Tensor DenseImpl::forward(const at::Tensor& x) {
  if (!is_int8()) {
    // With autograd, one addmm with the bias inside (as PyTorch's Linear does) instead of the
    // C++ frontend's product plus a bias pass, which keeps an extra autograd node per layer.
    // Without autograd the frontend's in-place bias add is cheaper: addmm first copies the
    // broadcast bias into its output (fp32 5 s peak 567 -> 727 MiB when tried).
    if (at::GradMode::is_enabled() && bias.defined() && x.dim() > 2) {
      auto sizes = x.sizes().vec();
      sizes.back() = weight.size(0);
      return at::addmm(bias, x.reshape({-1, x.size(-1)}), weight.t()).view(sizes);
    }
    return torch::nn::LinearImpl::forward(x);
  }
  check_int8_input(x);
  if (vnni_weight_.defined()) return int8_linear(x, vnni_weight_);
  torch::jit::Stack stack{x.to(at::kFloat), int8_weight_, false};
  op("quantized::linear_dynamic").callBoxed(&stack);
  return stack.at(0).toTensor().to(x.scalar_type());
}

}  // namespace mert
