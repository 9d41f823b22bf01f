#pragma once
// The pre-training heads on top of the encoder and the MERT loss (spec section 3):
//  - final_proj: Linear(H -> final_dim * K), one final_dim slice per codebook;
//  - label_embs_concat: [sum of vocab sizes, final_dim] label embeddings (init U[0,1));
//    logits of codebook c at frame t = cos(proj_c(h_t), e_j) / temperature over that codebook's
//    embeddings e_j; cross-entropy on masked frames, summed over frames and codebooks;
//  - cqt_head: Linear(H -> cqt_bins), MSE against the clean CQT on masked frames only (MERT), or
//    on every frame (LossWeights::cqt_all_frames, this project's small-scale departure);
//  - the conv feature penalty mean(features^2), computed by the model's forward_pretrain.
// Names are training-only (is_training_only_tensor), so `mert export` drops them.
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

#include <cstdint>
#include <vector>

namespace mert::train {

struct HeadsConfig {
  int64_t hidden = 768;
  int64_t final_dim = 64;              // 64 for 95M, 128 for 330M
  std::vector<int64_t> vocab_sizes;    // one per codebook (label stream), from the dict files
  int64_t cqt_bins = 336;              // 0 = no CQT head
};

class PretrainHeadsImpl : public torch::nn::Module {
 public:
  explicit PretrainHeadsImpl(const HeadsConfig& cfg);
  // Fresh values, reproducibly from `seed`: final_proj/cqt_head normal(0, 0.02) weights and zero
  // biases, label embeddings U[0,1).
  void reset(uint64_t seed);
  const HeadsConfig& config() const { return cfg_; }

  torch::nn::Linear final_proj{nullptr};
  at::Tensor label_embs_concat;
  torch::nn::Linear cqt_head{nullptr};  // null when cqt_bins == 0

 private:
  HeadsConfig cfg_;
};
TORCH_MODULE(PretrainHeads);

struct LossWeights {
  double features_pen = 10.0;  // fairseq loss_weights[0]
  double cqt = 1.0;            // fairseq loss_weights[1]
  // false: the CQT is reconstructed on masked frames only, as MERT. true: on every frame, so the
  // encoder must also carry the pitch content of the frames it sees (docs/RESULTS.md).
  bool cqt_all_frames = false;
};

struct LossTerms {
  // fairseq's summed loss: sum_c CE_c (summed over masked frames) + n_masked * (w0*pen + w1*cqt).
  // Gradients are normalised by the (global) masked-frame count, as fairseq does.
  at::Tensor sum_loss;            // scalar, differentiable
  std::vector<double> ce_sum;     // per codebook, summed over masked frames (detached)
  std::vector<int64_t> correct;   // per codebook: masked frames whose argmax is the label
  double features_pen = 0;        // detached values for logging
  double cqt_mse = 0;             // mean over the frames the CQT term covers (masked or all)
  int64_t n_masked = 0;           // masked frames in this (local) batch
};

// hidden: [B,T,H] final encoder output; mask: [B,T] bool; labels: [K,B,T] int64 (K = number of
// codebooks, values in [0, vocab_c)); cqt_target: [B,T,cqt_bins] or undefined (no CQT term);
// features_pen: scalar tensor (differentiable) from the model. Logits are computed in float32
// even under bf16 autocast.
LossTerms pretrain_loss(PretrainHeadsImpl& heads, const at::Tensor& hidden, const at::Tensor& mask,
                        const at::Tensor& labels, const at::Tensor& cqt_target, const at::Tensor& features_pen,
                        const LossWeights& weights, double temperature = 0.1);

}  // namespace mert::train
