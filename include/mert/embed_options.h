#pragma once
// What to take from a model's hidden states and how: layers, pooling, chunking. Torch-free, so
// that programs using the typed API (mert/mert.h) need no libtorch headers.
#include <cstdint>
#include <string>
#include <vector>

#include "mert/config.h"

namespace mert {

// None: every frame [n_layers, T, H]; Mean: over all frames [n_layers, H]; Chunks: one mean per
// chunk [n_layers, n_chunks, H] (MARBLE's cached probe features: each chunk is an example).
enum class Pool { None, Mean, Chunks };

struct EmbedOptions {
  std::vector<int64_t> layers;  // hidden-state indices 0..L to output, in this order; empty = all
  Pool pool = Pool::Mean;
  // Chunk length in seconds; 0 = the whole file in one pass (exact Hugging Face semantics).
  double chunk_sec = 30.0;
  // Distance between chunk starts; 0 = chunk_sec (no overlap). hop < chunk overlaps chunks.
  // Chunks start at 0, hop, 2*hop... until one reaches the end of the file; the last chunk may be
  // shorter and is kept when it yields at least one frame (>= the receptive field).
  double hop_sec = 0.0;
  // A last, shorter chunk is dropped when under this many seconds (unless it is the only one);
  // MARBLE drops chunks under 1 s. 0 = keep it when it yields at least one frame.
  double min_last_chunk_sec = 0.0;
  bool normalize_per_chunk = false;  // default: normalise over the whole file (MARBLE)
  int batch = 1;                     // chunks of one file per forward pass (padded batch)

  // Throws mert::Error naming the field (chunk_sec, hop_sec, layers, batch) that is out of range.
  void validate(const ModelConfig& cfg) const;
  std::string to_string() const;
};

Pool parse_pool(const std::string& s);  // none | mean | chunks
const char* pool_name(Pool p);
// "all" or a comma list like "0,6,12" (validated against num_hidden_layers).
std::vector<int64_t> parse_layers(const std::string& s, int64_t num_hidden_layers);

}  // namespace mert
