#pragma once
// Transformer encoder (HF `encoder`): positional conv, the layer stack, and `layer_norm`, whose
// position depends on the style (after the positional conv for post-LN, after the stack for
// pre-LN). Returns hidden states with Hugging Face's `output_hidden_states` semantics.
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/normalization.h>

#include <vector>

#include "model/encoder_layer.h"
#include "model/positional_conv.h"
#include "mert/config.h"

namespace mert {

class EncoderImpl : public torch::nn::Module {
 public:
  explicit EncoderImpl(const ModelConfig& cfg);
  // x: [B,T,H]; frame_mask: [B,T] bool (true = valid) or undefined.
  // keep[i] says whether hidden state i (0..L) is returned; states not kept are skipped
  // (undefined tensors) so memory is only spent on what the caller asked for.
  std::vector<torch::Tensor> forward(torch::Tensor x, const torch::Tensor& frame_mask,
                                     const std::vector<bool>& keep);

  PositionalConvEmbedding pos_conv_embed{nullptr};
  torch::nn::LayerNorm layer_norm{nullptr};
  torch::nn::ModuleList layers;

 private:
  bool pre_ln_;
  double hidden_dropout_, layerdrop_;
};
TORCH_MODULE(Encoder);

}  // namespace mert
