#pragma once
// Model and preprocessor configuration, read from a Hugging Face model dir's `config.json` and
// `preprocessor_config.json`. Field names are the Hugging Face keys so a user can look them up.
#include <cstdint>
#include <string>
#include <vector>

namespace mert {

// Output length of a stack of valid (unpadded) 1-D convolutions for `len` input samples.
int64_t conv_output_length(const std::vector<int64_t>& kernels, const std::vector<int64_t>& strides, int64_t len);

struct ModelConfig {
  // conv feature extractor
  std::vector<int64_t> conv_dim{512, 512, 512, 512, 512, 512, 512};
  std::vector<int64_t> conv_kernel{10, 3, 3, 3, 3, 2, 2};
  std::vector<int64_t> conv_stride{5, 2, 2, 2, 2, 2, 2};
  bool conv_bias = false;
  std::string feat_extract_norm = "group";  // "group": GroupNorm on layer 0; "layer": LayerNorm on all
  bool feat_proj_layer_norm = true;
  // transformer
  int64_t hidden_size = 768;
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 12;
  int64_t intermediate_size = 3072;
  int64_t num_conv_pos_embeddings = 128;
  int64_t num_conv_pos_embedding_groups = 16;
  bool do_stable_layer_norm = false;  // false: post-LN (v0, v1-95M); true: pre-LN (v1-330M)
  bool deepnorm = false;
  double attention_relax = -1.0;      // accepted; softmax is shift-invariant, see attention.cpp
  double layer_norm_eps = 1e-5;
  // training-time knobs kept for round-tripping and for pre-training
  double hidden_dropout = 0.1;
  double attention_dropout = 0.1;
  double activation_dropout = 0.0;
  double feat_proj_dropout = 0.1;
  double layerdrop = 0.05;
  int64_t sample_rate = 24000;

  // Reads config.json. Throws mert::Error (with the file name) on unreadable/malformed JSON,
  // wrong value types, and on features this implementation refuses (see validate()).
  static ModelConfig from_json_file(const std::string& path);
  static ModelConfig from_json_string(const std::string& text, const std::string& origin);
  std::string to_json_string() const;  // HF-style config.json
  // Throws mert::Error describing the first inconsistent or unsupported setting.
  void validate() const;
  std::string to_string() const;  // one-line human summary

  int64_t num_conv_layers() const { return static_cast<int64_t>(conv_dim.size()); }
  int64_t total_stride() const;
  int64_t receptive_field() const;            // samples seen by one output frame
  int64_t frames_for_samples(int64_t n) const; // conv front end output length (0 if too short)
  bool is_pre_ln() const { return do_stable_layer_norm; }
};

struct PreprocessorConfig {
  bool do_normalize = false;
  int64_t sampling_rate = 24000;
  double padding_value = 0.0;
  bool return_attention_mask = true;

  static PreprocessorConfig from_json_file(const std::string& path);
  std::string to_json_string() const;
  void validate() const;
};

}  // namespace mert
