#include "model/attention.h"

#include "model/batched_matmul.h"
#include "model/dropout.h"
#include "model/softmax.h"

#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace mert {

SelfAttentionImpl::SelfAttentionImpl(int64_t hidden, int64_t heads_, double dropout_)
    : heads(heads_), head_dim(hidden / heads_), dropout(dropout_) {
  q_proj = register_module("q_proj", Dense(hidden, hidden));
  k_proj = register_module("k_proj", Dense(hidden, hidden));
  v_proj = register_module("v_proj", Dense(hidden, hidden));
  out_proj = register_module("out_proj", Dense(hidden, hidden));
}

torch::Tensor SelfAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& additive_mask) {
  const int64_t B = x.size(0), T = x.size(1), H = x.size(2);
  auto split = [&](const torch::Tensor& t) {  // [B,T,H] -> [B,heads,T,head_dim]
    return t.view({B, T, heads, head_dim}).transpose(1, 2);
  };
  // HF scales q before the product (not the scores); the order matters for rounding only.
  auto q = split(q_proj->forward(x) * (1.0 / std::sqrt(static_cast<double>(head_dim))));
  auto k = split(k_proj->forward(x));
  auto v = split(v_proj->forward(x));
  // attention_relax (MERT 330M) rescales max-subtracted scores; softmax is shift-invariant and
  // softmax already subtracts the row max, so plain softmax gives identical probabilities.
  auto attend = [&](const torch::Tensor& qh, const torch::Tensor& kh, const torch::Tensor& vh) {
    auto scores = batched_matmul(qh, kh.transpose(-2, -1));  // [B,h,T,T]
    if (additive_mask.defined()) scores = scores + additive_mask;
    auto probs = softmax_last_dim(scores);  // in place on the fresh scores where it can
    if (is_training() && dropout > 0) probs = hashed_dropout(probs, dropout);
    return batched_matmul(probs, vh);
  };
  torch::Tensor ctx;
  // Scores are [B, heads, T, T]: 243 MB for one 30 s chunk of MERT-v1-95M. Without autograd,
  // attend over groups of heads so that at most ~16 MB of scores exist at once (one head at a
  // time for a 30 s chunk: fp32 peak 1145 -> 1001 MiB at the same speed; 5 s chunks, 0.6 MB
  // per head, still take all heads in one product).
  const int64_t per_head_bytes = B * T * T * static_cast<int64_t>(sizeof(float));
  const int64_t group = std::max<int64_t>(1, (int64_t(16) << 20) / std::max<int64_t>(1, per_head_bytes));
  if (at::GradMode::is_enabled() || group >= heads) {
    ctx = attend(q, k, v);
  } else {
    std::vector<torch::Tensor> parts;
    for (int64_t h0 = 0; h0 < heads; h0 += group) {
      const int64_t n = std::min(group, heads - h0);
      parts.push_back(attend(q.narrow(1, h0, n), k.narrow(1, h0, n), v.narrow(1, h0, n)));
    }
    ctx = torch::cat(parts, 1);
  }
  return out_proj->forward(ctx.transpose(1, 2).reshape({B, T, H}));
}

}  // namespace mert
