#pragma once
// libmert's C++ API: open a MERT model directory and turn audio into hidden-state features.
//
//   mert::Model model("MERT-v1-95M", {mert::ComputeType::BFloat16, /*threads=*/2});
//   mert::EmbedOptions o;                      // all layers, mean over time, 30 s chunks
//   mert::Embedding e = model.embed_file("song.flac", o);
//   // e.shape == {13, 768}; e.values row-major float32
//
// The header needs no libtorch headers (the library links libtorch). Every failure is a
// mert::Error (mert/error.h) whose message names the file, field or value at fault. The
// numbers are those of `mert embed` with the same settings, bit for bit.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mert/config.h"
#include "mert/embed_options.h"
#include "mert/error.h"

namespace mert {

// The arithmetic a model runs in. Outputs are float32 in every case.
enum class ComputeType {
  Float32,   // reference: equal to Hugging Face transformers within float rounding
  BFloat16,  // bf16 weights and matmuls (oneDNN): ~2x faster on CPUs with avx512_bf16 or AMX
  Int8,      // bf16 plus dynamic int8 Linear layers
};
// "fp32" | "bf16" | "int8" (also "float32", "bfloat16"); throws mert::Error otherwise.
ComputeType compute_type_from_string(const std::string& name);
const char* to_string(ComputeType t);  // "fp32" | "bf16" | "int8"

struct ModelOptions {
  ComputeType compute_type = ComputeType::Float32;
  int threads = 0;  // libtorch intra-op threads for this model's calls; 0 = one per core

  void validate() const;        // throws mert::Error for threads < 0 or > 1024
  std::string to_string() const;  // e.g. "compute_type=bf16 threads=2"
};

// A float32 array, row-major. shape is {layers, hidden} for Pool::Mean, {layers, frames, hidden}
// for Pool::None (75 frames/s for MERT) and {layers, chunks, hidden} for Pool::Chunks.
struct Embedding {
  std::vector<int64_t> shape;
  std::vector<float> values;
};

// A loaded model directory (Hugging Face layout: config.json, preprocessor_config.json,
// model.safetensors or pytorch_model.bin — a released MERT checkpoint or a `mert export`).
// Calls on one Model are serialised (a mutex); separate Models run in parallel.
class Model {
 public:
  explicit Model(const std::string& dir, const ModelOptions& options = {});
  ~Model();
  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;

  // A mono waveform (samples in [-1, 1]) recorded at `sample_rate`; resampled to the model's rate
  // as decoded files are. Throws mert::Error for an empty or non-finite waveform, a bad rate, bad
  // options, or audio shorter than the model's receptive field.
  Embedding embed(const float* samples, size_t n, int64_t sample_rate, const EmbedOptions& options = {}) const;
  Embedding embed(const std::vector<float>& samples, int64_t sample_rate, const EmbedOptions& options = {}) const;
  // An audio file (WAV, FLAC, OGG, MP3, ...), decoded, downmixed and resampled. `warning`, if
  // given, receives the decoder's note on a damaged file it could still read ("" otherwise).
  Embedding embed_file(const std::string& path, const EmbedOptions& options = {},
                       std::string* warning = nullptr) const;

  const ModelConfig& config() const;
  const PreprocessorConfig& preprocessor() const;
  const ModelOptions& options() const;
  const std::string& dir() const;
  int64_t sample_rate() const;   // the rate the model expects (24000 for MERT-v1)
  int64_t num_layers() const;    // hidden states: the front end's projection + each layer
  int64_t hidden_size() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One line on the machine and the kernels in use: CPU, ISA extensions, threads, libtorch, oneDNN
// and BLAS (what every `mert` command prints first).
std::string system_info();
// The library's version and the git commit it was built from.
std::string version();

}  // namespace mert
