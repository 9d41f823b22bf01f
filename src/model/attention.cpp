#include "model/attention.h"

#include <cmath>

namespace mert {

SelfAttentionImpl::SelfAttentionImpl(int64_t hidden, int64_t heads_, double dropout_)
    : heads(heads_), head_dim(hidden / heads_), dropout(dropout_) {
  q_proj = register_module("q_proj", torch::nn::Linear(hidden, hidden));
  k_proj = register_module("k_proj", torch::nn::Linear(hidden, hidden));
  v_proj = register_module("v_proj", torch::nn::Linear(hidden, hidden));
  out_proj = register_module("out_proj", torch::nn::Linear(hidden, hidden));
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
  auto scores = torch::matmul(q, k.transpose(-2, -1));  // [B,heads,T,T]
  if (additive_mask.defined()) scores = scores + additive_mask;
  // attention_relax (MERT 330M) rescales max-subtracted scores; softmax is shift-invariant and
  // softmax already subtracts the row max, so plain softmax gives identical probabilities.
  auto probs = torch::softmax(scores, -1);
  if (is_training() && dropout > 0) probs = torch::dropout(probs, dropout, true);
  auto ctx = torch::matmul(probs, v).transpose(1, 2).reshape({B, T, H});
  return out_proj->forward(ctx);
}

}  // namespace mert
