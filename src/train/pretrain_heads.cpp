#include "train/pretrain_heads.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/utils.h>

#include <numeric>
#include <string>
#include <vector>

#include "mert/error.h"
#include "train/autocast.h"

namespace mert::train {
namespace {

std::string shape_of(const at::Tensor& t) { return t.defined() ? c10::str(t.sizes()) : "undefined"; }

// torch.cosine_similarity of every row of a [N,D] with every row of b [V,D]: a.b / max(|a||b|, 1e-8).
at::Tensor pairwise_cosine(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor norms = a.norm(2, {1}, /*keepdim=*/true) * b.norm(2, {1}).unsqueeze(0);
  return a.mm(b.t()) / norms.clamp_min(1e-8);
}

void check_config(const HeadsConfig& cfg) {
  if (cfg.hidden < 1 || cfg.final_dim < 1 || cfg.cqt_bins < 0)
    throw Error("pre-training heads: need hidden >= 1, final_dim >= 1 and cqt_bins >= 0, got hidden " +
                std::to_string(cfg.hidden) + ", final_dim " + std::to_string(cfg.final_dim) + ", cqt_bins " +
                std::to_string(cfg.cqt_bins));
  if (cfg.vocab_sizes.empty()) throw Error("pre-training heads: need at least one codebook (vocab_sizes is empty)");
  for (size_t c = 0; c < cfg.vocab_sizes.size(); ++c)
    if (cfg.vocab_sizes[c] < 2)
      throw Error("pre-training heads: codebook " + std::to_string(c) + " has vocabulary size " +
                  std::to_string(cfg.vocab_sizes[c]) + ", expected >= 2");
}

// Labels of codebook c on the masked frames must index its vocabulary.
void check_label_range(const at::Tensor& masked_labels, const at::Tensor& frame_index, size_t c, int64_t vocab,
                       int64_t T) {
  const at::Tensor bad = (masked_labels < 0).logical_or(masked_labels >= vocab).nonzero();
  if (bad.size(0) == 0) return;
  const int64_t i = bad[0][0].item<int64_t>();
  const int64_t frame = frame_index[i].item<int64_t>();
  throw Error("pre-training loss: codebook " + std::to_string(c) + " has label " +
              std::to_string(masked_labels[i].item<int64_t>()) + " at masked frame (row " +
              std::to_string(frame / T) + ", frame " + std::to_string(frame % T) + "), expected [0, " +
              std::to_string(vocab) + ")");
}

void check_inputs(const HeadsConfig& cfg, const at::Tensor& hidden, const at::Tensor& mask, const at::Tensor& labels,
                  const at::Tensor& cqt_target, const at::Tensor& features_pen) {
  if (!hidden.defined() || hidden.dim() != 3 || hidden.size(2) != cfg.hidden || !hidden.is_floating_point())
    throw Error("pre-training loss: hidden must be a floating [B, T, " + std::to_string(cfg.hidden) + "] tensor, got " +
                shape_of(hidden));
  const int64_t B = hidden.size(0), T = hidden.size(1);
  const auto K = static_cast<int64_t>(cfg.vocab_sizes.size());
  if (!mask.defined() || mask.scalar_type() != at::kBool || mask.sizes() != at::IntArrayRef{B, T})
    throw Error("pre-training loss: mask must be bool [" + std::to_string(B) + ", " + std::to_string(T) + "], got " +
                shape_of(mask));
  if (!labels.defined() || labels.scalar_type() != at::kLong || labels.sizes() != at::IntArrayRef{K, B, T})
    throw Error("pre-training loss: labels must be int64 [" + std::to_string(K) + " codebooks, " + std::to_string(B) +
                ", " + std::to_string(T) + "], got " + shape_of(labels) +
                (labels.defined() ? " " + std::string(c10::toString(labels.scalar_type())) : ""));
  if (cqt_target.defined()) {
    if (cfg.cqt_bins == 0)
      throw Error("pre-training loss: a CQT target was given but the heads have no CQT head (cqt_bins 0)");
    if (cqt_target.sizes() != at::IntArrayRef{B, T, cfg.cqt_bins} || !cqt_target.is_floating_point())
      throw Error("pre-training loss: cqt_target must be floating [" + std::to_string(B) + ", " + std::to_string(T) +
                  ", " + std::to_string(cfg.cqt_bins) + "], got " + shape_of(cqt_target));
  }
  if (!features_pen.defined() || features_pen.numel() != 1)
    throw Error("pre-training loss: features_pen must be a scalar tensor, got " + shape_of(features_pen));
}

}  // namespace

PretrainHeadsImpl::PretrainHeadsImpl(const HeadsConfig& cfg) : cfg_(cfg) {
  check_config(cfg_);
  const auto K = static_cast<int64_t>(cfg_.vocab_sizes.size());
  const int64_t classes = std::accumulate(cfg_.vocab_sizes.begin(), cfg_.vocab_sizes.end(), int64_t{0});
  final_proj = register_module("final_proj", torch::nn::Linear(cfg_.hidden, cfg_.final_dim * K));
  label_embs_concat = register_parameter("label_embs_concat", at::empty({classes, cfg_.final_dim}));
  if (cfg_.cqt_bins > 0) cqt_head = register_module("cqt_head", torch::nn::Linear(cfg_.hidden, cfg_.cqt_bins));
  reset(0);  // the label embeddings start uninitialised; give every tensor defined values
}

void PretrainHeadsImpl::reset(uint64_t seed) {
  torch::NoGradGuard no_grad;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  final_proj->weight.normal_(0, 0.02, gen);
  final_proj->bias.zero_();
  label_embs_concat.uniform_(0, 1, gen);
  if (cqt_head) {
    cqt_head->weight.normal_(0, 0.02, gen);
    cqt_head->bias.zero_();
  }
}

LossTerms pretrain_loss(PretrainHeadsImpl& heads, const at::Tensor& hidden, const at::Tensor& mask,
                        const at::Tensor& labels, const at::Tensor& cqt_target, const at::Tensor& features_pen,
                        const LossWeights& weights, double temperature) {
  const HeadsConfig& cfg = heads.config();
  check_inputs(cfg, hidden, mask, labels, cqt_target, features_pen);
  if (!(temperature > 0)) throw Error("pre-training loss: temperature must be > 0, got " + std::to_string(temperature));
  CpuAutocast fp32_heads(false);  // the heads and logits run in float32
  const int64_t T = hidden.size(1);
  const auto K = cfg.vocab_sizes.size();

  LossTerms out;
  const at::Tensor pen = features_pen.to(at::kFloat).reshape({});
  out.features_pen = pen.item<double>();
  out.ce_sum.assign(K, 0.0);
  out.correct.assign(K, 0);

  // Flat indices (b*T + t) of the masked frames, and their hidden states in float32.
  const at::Tensor frame_index = mask.to(hidden.device()).reshape({-1}).nonzero().squeeze(1);
  out.n_masked = frame_index.size(0);
  const at::Tensor x = hidden.to(at::kFloat).reshape({-1, cfg.hidden}).index_select(0, frame_index);
  std::vector<at::Tensor> targets(K);
  for (size_t c = 0; c < K; ++c) {
    targets[c] = labels[c].reshape({-1}).index_select(0, frame_index);
    check_label_range(targets[c], frame_index, c, cfg.vocab_sizes[c], T);
  }
  if (out.n_masked == 0) {
    // Nothing to predict: a zero that still reaches the model, so backward() runs as on any step.
    out.sum_loss = hidden.to(at::kFloat).sum() * 0 + pen * 0;
    return out;
  }

  const std::vector<at::Tensor> proj = heads.final_proj->forward(x).split(cfg.final_dim, 1);
  const std::vector<at::Tensor> embs = heads.label_embs_concat.to(at::kFloat).split_with_sizes(cfg.vocab_sizes, 0);
  at::Tensor ce_total = at::zeros({}, x.options());
  for (size_t c = 0; c < K; ++c) {
    const at::Tensor logits = pairwise_cosine(proj[c], embs[c]) / temperature;
    const at::Tensor ce = at::nll_loss(at::log_softmax(logits, 1), targets[c], {}, at::Reduction::Sum);
    out.ce_sum[c] = ce.item<double>();
    out.correct[c] = logits.argmax(1).eq(targets[c]).sum().item<int64_t>();
    ce_total = ce_total + ce;
  }

  at::Tensor cqt_mse = at::zeros({}, x.options());
  if (cqt_target.defined()) {
    at::Tensor target = cqt_target.to(at::kFloat).reshape({-1, cfg.cqt_bins});
    at::Tensor input = hidden.to(at::kFloat).reshape({-1, cfg.hidden});
    if (!weights.cqt_all_frames) {
      target = target.index_select(0, frame_index);
      input = x;
    }
    cqt_mse = (heads.cqt_head->forward(input) - target).pow(2).mean();
    out.cqt_mse = cqt_mse.item<double>();
  }
  // fairseq's hubert criterion: the extra losses are per-frame means, scaled to the CE's frame sum.
  out.sum_loss = ce_total + static_cast<double>(out.n_masked) * (weights.features_pen * pen + weights.cqt * cqt_mse);
  return out;
}

}  // namespace mert::train
