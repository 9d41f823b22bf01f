#pragma once
// EnCodec's encoder and residual vector quantizer, inference only: MERT-v1's acoustic teacher
// (8 codebooks x 1024 entries at 75 Hz for the 24 kHz model at 6 kbps). The numbers follow Hugging
// Face transformers' EncodecModel.encode (models/encodec): a SEANet encoder of causal, weight-
// normalised convolutions with reflect padding, residual blocks with a conv shortcut, ELU, a
// two-layer LSTM with a skip, then nearest-codeword residual quantization
// (../shared/reference/mert-spec.md §3.2a; docs/TEACHERS.md).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace mert::encodec {

// config.json of a Hugging Face EnCodec dir (the keys and defaults of facebook/encodec_24khz).
struct EncodecConfig {
  int64_t sampling_rate = 24000;
  int64_t audio_channels = 1;
  int64_t num_filters = 32;
  int64_t num_residual_layers = 1;
  std::vector<int64_t> upsampling_ratios{8, 5, 4, 2};
  int64_t kernel_size = 7;
  int64_t last_kernel_size = 7;
  int64_t residual_kernel_size = 3;
  int64_t dilation_growth_rate = 2;
  int64_t compress = 2;
  int64_t num_lstm_layers = 2;
  int64_t hidden_size = 128;  // the embedding (and codeword) dimension
  int64_t codebook_size = 1024;
  std::vector<double> target_bandwidths{1.5, 3.0, 6.0, 12.0, 24.0};
  std::string norm_type = "weight_norm";
  std::string pad_mode = "reflect";
  bool use_causal_conv = true;
  bool normalize = false;
  bool use_conv_shortcut = true;

  // Reads config.json; absent keys keep the 24 kHz defaults. Throws mert::Error naming the file
  // and key for wrong types, and for settings this encoder does not implement (normalize,
  // non-causal convs, other norms or pad modes, chunked encoding: the 48 kHz model).
  static EncodecConfig from_json_file(const std::string& path);
  void validate(const std::string& origin) const;

  int64_t hop() const;            // product of the ratios: 320 samples for 24 kHz
  int64_t frame_rate() const;     // ceil(sampling_rate / hop): 75
  int64_t num_quantizers() const; // codebooks in the checkpoint: 32 for 24 kbps
  // Hugging Face's rule: max(1, floor(bandwidth * 1000 / (log2(codebook_size) * frame_rate))),
  // at most num_quantizers(); 1.5/3/6/12/24 kbps -> 2/4/8/16/32 for 1024 entries. A bandwidth
  // not in target_bandwidths is a mert::Error, as EncodecModel.encode refuses it.
  int64_t quantizers_for_bandwidth(double kbps) const;
  // Frames for n samples: ceil(n / hop) (each causal conv of stride s yields ceil(L / s)).
  int64_t frames(int64_t num_samples) const;
};

// The encoder's weights by canonical (Hugging Face, weight_g / weight_v) name. Reads a model dir
// (config.json + model.safetensors or pytorch_model.bin, with weight_g/weight_v or the newer
// parametrizations.weight.original0/1 names) or an original encodec_24khz-*.th checkpoint (whose
// key names are mapped). Strict: an unknown key, or a missing or misshapen one, is a mert::Error
// naming it. The decoder's keys and the quantizer's training statistics are ignored by name.
struct EncodecWeights {
  EncodecConfig config;
  std::map<std::string, at::Tensor> tensors;  // float32, contiguous
  std::string source;                         // the file the weights came from
};
EncodecWeights load_encodec_weights(const std::string& path);

class Encodec {
 public:
  explicit Encodec(EncodecWeights weights);  // folds the weight norms once

  const EncodecConfig& config() const { return cfg_; }
  // [batch, channels, samples] float32 -> the encoder's embeddings [batch, hidden_size, frames],
  // in one pass: memory grows with the length (~0.75 GiB per minute of 24 kHz audio).
  at::Tensor embed(const at::Tensor& audio) const;
  // The same for a mono waveform, streamed in blocks of `block_samples` (memory bounded by the
  // block): every causal conv keeps its left context between blocks and the LSTM its state, so
  // the result is the one-pass result (up to float rounding in the kernels; the tests compare).
  // block_samples <= 0 or >= the length: one pass.
  at::Tensor embed_streamed(const std::vector<float>& wave, int64_t block_samples) const;
  // embed_streamed for several waveforms, `width` of them at a time in lockstep (a finished one
  // makes room for the next), so that their LSTM steps share one pass over the recurrent weights:
  // the same embeddings as one by one, up to float rounding in the batched GEMMs. Memory grows
  // with width, not with the lengths. One [1, hidden, frames] per waveform, in order.
  std::vector<at::Tensor> embed_many(const std::vector<const std::vector<float>*>& waves, int64_t block_samples,
                                     int64_t width) const;
  // Codes of the first `n_q` codebooks for embeddings [batch, hidden, frames]: int64 [batch, n_q, frames].
  at::Tensor quantize(const at::Tensor& embeddings, int64_t n_q) const;
  // Streaming block of label runs: 2 s at 24 kHz. A file's codes (EncodecModel.encode with
  // bandwidth=kbps, no chunking) are quantize(embed_streamed(...) or embed_many(...), n_q).
  static constexpr int64_t kDefaultBlockSamples = 48000;

 private:
  struct Conv {
    at::Tensor weight, bias;
    int64_t stride = 1, dilation = 1;
  };
  struct ResBlock {
    Conv conv1, conv2, shortcut;
    bool has_shortcut = false;
  };
  class StreamedConv;  // one causal, reflect-padded conv, fed block by block
  class Stream;        // one input's state between blocks
  at::Tensor walk(const at::Tensor& audio, int64_t block_samples) const;
  void run_lstm(const std::vector<Stream*>& streams, const std::vector<at::Tensor>& blocks) const;
  int64_t effective_block(int64_t n, int64_t block_samples) const;

  EncodecConfig cfg_;
  Conv first_, last_;
  std::vector<std::vector<ResBlock>> blocks_;  // per ratio
  std::vector<Conv> downs_;                    // per ratio
  std::vector<at::Tensor> lstm_params_;        // w_ih, w_hh, b_ih, b_hh per layer
  std::vector<at::Tensor> codebooks_;          // [codebook_size, hidden] per quantizer
};

}  // namespace mert::encodec
