#pragma once
// The probe's feature cache: one float32 .npy [n_layers, n_chunks, D] per item, made by the
// embed engine (model features, Pool::Chunks) or the teacher engine (hand-crafted baselines:
// per-chunk mean and std, n_layers = 1). Resumable and atomic as those engines are; a sweep
// reads it and never runs the backbone.
#include <torch/types.h>

#include <string>
#include <vector>

#include "embed/inputs.h"
#include "probe/probe.h"

namespace mert::probe {

// Features of a set of items, in memory: chunks of item i are rows
// [offset[i], offset[i] + chunks[i]) of x [total_chunks, n_layers, D].
struct ChunkFeatures {
  at::Tensor x;
  std::vector<int64_t> offset, chunks;
  int64_t n_layers() const { return x.size(1); }
  int64_t dim() const { return x.size(2); }
};

struct CacheInfo {
  std::string dir;           // where the .npy files are
  std::string source;        // "model:<fingerprint>:<dtype>" or "features:<name>"
  std::string model_config;  // the model's one-line config (empty for hand features)
  int64_t num_hidden_layers = 0;  // L (hidden states 0..L are cached); 0 for hand features
  std::vector<std::string> failed_ids;  // items whose audio could not be used
};

// The name of a dataset's sub-dir in a cache: items share a cache when they come from the same
// data dir with the same cutting (synth-pitch and synth-instrument read the same notes).
std::string cache_data_tag(const TaskSpec& task, const ProbeOptions& o);
// The items as the embed and teacher engines take them, cropped to the task's crop_sec.
std::vector<InputItem> cache_input_items(const TaskSpec& task, const ProbeDataset& data);

// Fills the cache for `items` (every split) and returns where it is. Items already cached are
// skipped; failures are listed in the cache dir's failures.tsv and returned.
CacheInfo build_cache(const TaskSpec& task, const ProbeDataset& data, const ProbeOptions& o, ProbeObserver& obs);

// Loads the cached features of `items` (in this order).
ChunkFeatures load_features(const CacheInfo& cache, const std::vector<const ProbeItem*>& items);

}  // namespace mert::probe
