#pragma once
// Conv feature encoder (HF `feature_extractor`): a stack of 1-D convolutions turning the
// waveform into frames (320 samples per frame for MERT), GELU after each.
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>

#include "mert/config.h"
#include "model/int8_gemm.h"

namespace mert {

// One conv block: `conv`, then the optional norm registered as `layer_norm` (HF's name for
// both the GroupNorm of layer 0 in "group" mode and the per-layer LayerNorm in "layer" mode).
class ConvLayerImpl : public torch::nn::Module {
 public:
  enum class Norm { None, Group, Layer };
  ConvLayerImpl(int64_t in_ch, int64_t out_ch, int64_t kernel, int64_t stride, bool bias, Norm norm);
  // x: [B, C_in, S]; in_lengths: valid input length per item (used by the GroupNorm so that
  // padding never enters the statistics), or undefined when every item is full length.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& out_lengths);

  // int8 inference (VNNI kernel): packs the conv weight for the front end's inference path,
  // which then runs this layer in int8. Only layers whose input channels are a multiple of 4
  // (not layer 0, which reads raw samples); returns whether this layer was quantized.
  bool quantize_int8();

  torch::nn::Conv1d conv{nullptr};
  Int8Weight int8_weight;
  Norm norm;
  torch::Tensor norm_weight, norm_bias;
  double eps = 1e-5;  // torch's GroupNorm/LayerNorm default, as HF constructs them
};
TORCH_MODULE(ConvLayer);

class FeatureEncoderImpl : public torch::nn::Module {
 public:
  explicit FeatureEncoderImpl(const ModelConfig& cfg);
  // wave: [B, S]; lengths: [B] int64 valid samples per item, or undefined (all full).
  // Returns features [B, C, T] (frames past an item's valid length are unspecified).
  torch::Tensor forward(const torch::Tensor& wave, const torch::Tensor& lengths);
  // Valid output length per layer boundary, computed the same way as config.frames_for_samples.
  torch::Tensor output_lengths(const torch::Tensor& lengths, int64_t upto_layer) const;

  torch::nn::ModuleList conv_layers;

  // Output frames per tile of the inference path (64 frames = 1.3 s of MERT audio): small
  // enough that a tile's activations stay in cache and memory stays flat with input length.
  static constexpr int64_t kTileFrames = 64;

 private:
  // Without autograd: the same result as the plain path (up to float rounding) from time-major
  // GEMMs (model/conv_gemm.h), tile by tile over output frames, with layer 0's GroupNorm folded
  // into its weights from statistics computed without running the conv.
  torch::Tensor forward_inference(const torch::Tensor& wave, const torch::Tensor& lengths);
  ModelConfig cfg_;
};
TORCH_MODULE(FeatureEncoder);

}  // namespace mert
