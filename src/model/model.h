#pragma once
// The MERT model: conv front end -> feature projection -> transformer encoder, registered
// under Hugging Face parameter names so HF state dicts load without a rename table.
#include <torch/nn/module.h>

#include <memory>
#include <string>
#include <vector>

#include "mert/config.h"
#include "io/weights.h"

namespace mert {

class FeatureEncoderImpl;
class FeatureProjectionImpl;
class EncoderImpl;

struct ModelOutput {
  // hidden_states[i] is [B, T, H] for every requested i in 0..L (L = num_hidden_layers),
  // undefined for states not requested. Frames past an item's valid length are zero.
  std::vector<at::Tensor> hidden_states;
  at::Tensor frame_lengths;  // [B] int64: valid frames per item
};

struct PretrainForward {
  at::Tensor hidden;        // [B, T, H]: the encoder's final output
  at::Tensor features_pen;  // scalar float32: mean of the squared conv features (fairseq features_pen)
};

class MertModelImpl : public torch::nn::Module {
 public:
  explicit MertModelImpl(const ModelConfig& cfg);

  // wave: [B, S] float; lengths: [B] int64 valid samples per item (right-padded batch), or an
  // undefined tensor when all items are full length. keep_layers: indices 0..L of the hidden
  // states to return (empty = all). Throws mert::Error if an item is shorter than the conv
  // front end's receptive field.
  ModelOutput forward(const at::Tensor& wave, const at::Tensor& lengths = {},
                      const std::vector<int64_t>& keep_layers = {});

  // The pre-training pass over a batch of equal-length crops (no padding): the conv front end,
  // whose gradient is scaled by feature_grad_mult (0 freezes it, as fairseq's no_grad branch),
  // the feature penalty, the projection, then frames where mask [B, T] (bool) is true replaced by
  // masked_spec_embed, then the encoder. Dropout and LayerDrop apply when is_training().
  PretrainForward forward_pretrain(const at::Tensor& wave, const at::Tensor& mask, double feature_grad_mult);

  const ModelConfig& config() const { return cfg_; }
  int64_t num_hidden_states() const { return cfg_.num_hidden_layers + 1; }
  // The compute dtype: that of the weights (float32, or bfloat16 after set_compute_dtype). The
  // input is cast to it; hidden states come out in it.
  at::ScalarType dtype() const { return masked_spec_embed.scalar_type(); }

  std::shared_ptr<FeatureEncoderImpl> feature_extractor;
  std::shared_ptr<FeatureProjectionImpl> feature_projection;
  std::shared_ptr<EncoderImpl> encoder;
  at::Tensor masked_spec_embed;  // [H], used by pre-training masking only

 private:
  ModelConfig cfg_;
};
TORCH_MODULE(MertModel);

// "fp32", "bf16" or "int8": converts every weight once (at load), so no per-call casts remain.
// "int8" is bf16 everywhere except the transformer's and projection's Linear layers, which run
// int8 products (weights quantized per output channel, activations per token; inference only),
// and, with mert's VNNI kernel, the conv front end after layer 0 (model/int8_gemm.h).
// Normalisation statistics stay in float/double inside the kernels that compute them.
void set_compute_dtype(MertModelImpl& model, const std::string& dtype);
// The dtype the weights are created in for a compute dtype ("int8" -> bfloat16); throws
// mert::Error for unknown names.
at::ScalarType parse_compute_dtype(const std::string& dtype);
// The steps after the weights are in place: for "int8", quantize the Linear and conv layers.
void finish_compute_dtype(MertModelImpl& model, const std::string& dtype);
std::string compute_dtype_name(at::ScalarType t);

// Names of tensors a checkpoint may carry that inference ignores (pre-training heads etc.).
bool is_training_only_tensor(const std::string& name);

// Copies `tensors` into the model's parameters, converting dtype. Strict: every parameter
// must be present with the right shape (except masked_spec_embed, which is optional), and an
// unknown tensor is an error unless is_training_only_tensor(). Errors name `origin` (the file),
// the tensor, and expected vs got. Accepts the newer torch parametrisation names for weight
// norm (`parametrizations.weight.original0/1`). With release_source_pages, the pages of each
// source tensor are dropped (madvise) once copied: only for tensors read from a file mapping
// that will not be used again.
void load_weights_into(MertModelImpl& model, const TensorMap& tensors, const std::string& origin,
                       bool release_source_pages = false);

// The model's parameters by HF name (float32, contiguous) for saving.
TensorMap model_state(MertModelImpl& model);

// Initialises weights the way HF/fairseq do for a fresh model (normal(0, 0.02) linears,
// Kaiming convs, unit norms, weight_g = ||weight_v||), reproducibly from `seed`.
void init_weights(MertModelImpl& model, uint64_t seed);

int64_t count_parameters(MertModelImpl& model, bool include_training_only = false);

}  // namespace mert
