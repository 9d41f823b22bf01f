#pragma once
// Turning a waveform into MERT features: preprocessing, chunking, running the model, pooling.
#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "mert/config.h"
#include "mert/model.h"

namespace mert {

enum class Pool { None, Mean };

struct EmbedOptions {
  std::vector<int64_t> layers;  // hidden-state indices 0..L to output, in this order; empty = all
  Pool pool = Pool::Mean;
  // Chunk length in seconds; 0 = the whole file in one pass (exact Hugging Face semantics).
  // Chunks do not overlap; the last, shorter chunk is kept when it yields at least one frame.
  double chunk_sec = 30.0;
  bool normalize_per_chunk = false;  // default: normalise over the whole file (MARBLE)

  void validate(const ModelConfig& cfg) const;
  std::string to_string() const;
};

Pool parse_pool(const std::string& s);
// "all" or a comma list like "0,6,12" (validated against num_hidden_layers).
std::vector<int64_t> parse_layers(const std::string& s, int64_t num_hidden_layers);

// Runs the model over one mono waveform at the model's sample rate. Returns float32
// [n_layers, T, H] (Pool::None; chunk frames concatenated in time) or [n_layers, H] (Pool::Mean;
// mean over all frames of all chunks). Throws mert::Error if the audio is shorter than the
// receptive field.
at::Tensor embed_waveform(MertModelImpl& model, const PreprocessorConfig& pre,
                          std::vector<float> wave, const EmbedOptions& opts);

}  // namespace mert
