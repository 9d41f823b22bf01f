#pragma once
// Turning a waveform into MERT features: preprocessing, chunking, running the model, pooling.
#include <ATen/core/Tensor.h>

#include <functional>
#include <string>
#include <vector>

#include "mert/config.h"
#include "mert/embed_options.h"
#include "model/model.h"

namespace mert {

struct ChunkPlan {
  std::vector<int64_t> start, length, frames, frame_offset;  // per chunk
  int64_t total_frames = 0;
  size_t size() const { return start.size(); }
};
// Throws mert::Error if the audio gives no frame at all.
ChunkPlan plan_chunks(int64_t n_samples, const EmbedOptions& opts, const ModelConfig& cfg);

// Runs the chunks of one (already whole-file-normalised, if wanted) waveform through the model,
// `opts.batch` chunks per forward, and hands each chunk's [n_layers, T_c, H] float32 CPU frames
// to `sink` in chunk order.
void run_chunks(MertModelImpl& model, const PreprocessorConfig& pre, const std::vector<float>& wave,
                const ChunkPlan& plan, const EmbedOptions& opts,
                const std::function<void(size_t chunk, const at::Tensor& frames)>& sink);

// The same over several files: their chunks, taken in file order then chunk order, share
// batches of `opts.batch`. sink(file, chunk, frames). Deterministic for a given file list.
void run_chunks_multi(MertModelImpl& model, const PreprocessorConfig& pre,
                      const std::vector<const std::vector<float>*>& waves, const std::vector<const ChunkPlan*>& plans,
                      const EmbedOptions& opts,
                      const std::function<void(size_t file, size_t chunk, const at::Tensor& frames)>& sink);

// The input shapes {chunks, samples} of the forward passes run_chunks_multi makes, in order.
std::vector<std::pair<int64_t, int64_t>> batch_shapes(const std::vector<const ChunkPlan*>& plans,
                                                      const EmbedOptions& opts);

// The hidden-state indices an option set selects (all when empty).
std::vector<int64_t> selected_layers(const EmbedOptions& opts, const ModelConfig& cfg);

// Runs the model over one mono waveform at the model's sample rate. Returns float32
// [n_layers, T, H] (Pool::None; chunk frames concatenated in time), [n_layers, n_chunks, H]
// (Pool::Chunks; each chunk's mean over its frames) or [n_layers, H] (Pool::Mean;
// mean over all frames of all chunks). Throws mert::Error if the audio is shorter than the
// receptive field.
at::Tensor embed_waveform(MertModelImpl& model, const PreprocessorConfig& pre,
                          std::vector<float> wave, const EmbedOptions& opts);

}  // namespace mert
