#include "model/dropout.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <torch/autograd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace mert {

namespace {

// splitmix64's finaliser: a bijective mix of 64 bits, good enough that its two 32-bit halves
// serve as independent uniform draws.
inline uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Element i is kept when its 32-bit draw is at or above `threshold` = p * 2^32. Elements 2j and
// 2j+1 take the low and high halves of mix(seed + j * golden ratio).
template <typename T>
void apply_mask(const T* in, T* out, int64_t n, uint64_t seed, uint32_t threshold, float scale) {
  at::parallel_for(0, (n + 1) / 2, 4096, [&](int64_t j0, int64_t j1) {
    for (int64_t j = j0; j < j1; ++j) {
      const uint64_t h = mix(seed + static_cast<uint64_t>(j) * 0x9e3779b97f4a7c15ULL);
      const int64_t i = 2 * j;
      out[i] = static_cast<T>(static_cast<uint32_t>(h) >= threshold ? static_cast<float>(in[i]) * scale : 0.0f);
      if (i + 1 < n)
        out[i + 1] = static_cast<T>(static_cast<uint32_t>(h >> 32) >= threshold ? static_cast<float>(in[i + 1]) * scale : 0.0f);
    }
  });
}

uint32_t threshold_of(double p) {
  const double t = std::round(p * 4294967296.0);
  return t >= 4294967295.0 ? 4294967295u : static_cast<uint32_t>(t);
}

// out = in * mask(seed) / (1 - p), for contiguous float or bf16 CPU tensors.
at::Tensor masked(const at::Tensor& in_any, double p, uint64_t seed) {
  const at::Tensor in = in_any.contiguous();
  at::Tensor out = at::empty_like(in, at::MemoryFormat::Contiguous);
  const float scale = static_cast<float>(1.0 / (1.0 - p));
  if (in.scalar_type() == at::kFloat)
    apply_mask(in.data_ptr<float>(), out.data_ptr<float>(), in.numel(), seed, threshold_of(p), scale);
  else
    apply_mask(in.data_ptr<at::BFloat16>(), out.data_ptr<at::BFloat16>(), in.numel(), seed, threshold_of(p), scale);
  return out;
}

struct HashedDropoutFn : public torch::autograd::Function<HashedDropoutFn> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, double p, int64_t seed) {
    ctx->saved_data["p"] = p;
    ctx->saved_data["seed"] = seed;
    return masked(x, p, static_cast<uint64_t>(seed));
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    const double p = ctx->saved_data["p"].toDouble();
    const auto seed = static_cast<uint64_t>(ctx->saved_data["seed"].toInt());
    return {masked(grads[0], p, seed), at::Tensor(), at::Tensor()};
  }
};

uint64_t draw_seed() {
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get<at::CPUGeneratorImpl>()->random64();
}

bool supported(const at::Tensor& x) {
  static const bool on = [] {
    const char* v = std::getenv("MERT_DROPOUT");
    return !(v && std::strcmp(v, "libtorch") == 0);
  }();
  return on && x.device().is_cpu() && (x.scalar_type() == at::kFloat || x.scalar_type() == at::kBFloat16);
}

}  // namespace

at::Tensor hashed_dropout(const at::Tensor& x, double p) {
  if (p <= 0) return x;
  if (p >= 1) return at::zeros_like(x);
  if (!supported(x)) return at::dropout(x, p, /*train=*/true);
  return HashedDropoutFn::apply(x, p, static_cast<int64_t>(draw_seed()));
}

at::Tensor hashed_dropout_mask(const at::Tensor& x, double p, uint64_t seed) {
  return masked(at::ones_like(x, at::kFloat), p, seed).ne(0).to(at::kFloat);
}

}  // namespace mert
