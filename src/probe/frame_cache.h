#pragma once
// The frame-level probe's feature cache. At 75 frames/s, every hidden state of every item does not
// fit on disk or in memory for a real dataset (MERT-v1-95M: 13 x 768 values per frame, 45 GB
// for 1000 x 30 s in float16), so only the hidden states the sweep asks for are cached, as float16
// [n_cached, T, D] per item, and a sweep loads one layer at a time (docs/PROBE.md, "Frame-level
// tasks"). Hand-crafted baselines cache their frames on the model grid, float32 [T, D].
#include <torch/types.h>

#include <string>
#include <vector>

#include "probe/probe.h"

namespace mert::probe {

struct FrameCacheInfo {
  std::string dir, source, model_config;
  std::vector<int> layers;  // the hidden state of each cached layer, in file order ({0} for hand features)
  int64_t num_hidden_layers = 0;  // L of the model (0 for hand features)
  double fps = 75;                // frames per second of the model grid
  int64_t sample_rate = 24000;    // the rate audio is decoded at (grid hop = sample_rate / fps)
  std::vector<std::string> failed_ids;
};

// Caches the frames of every item; `layers` are the hidden states needed (model features only).
FrameCacheInfo build_frame_cache(const TaskSpec& task, const ProbeDataset& data, const ProbeOptions& o,
                                 const std::vector<int>& layers, ProbeObserver& obs);

// One split's frames in memory: frames of item i are rows [offset[i], offset[i] + frames[i]).
struct FrameFeatures {
  at::Tensor x;  // float16 [F, D] for one layer; [F, L, D] for the weighted sum (layers 1..L)
  std::vector<int64_t> offset, frames;
  int64_t total() const { return x.size(0); }
};

// Loads `layer` (a hidden state, or kWeightedSum) of `items`. Hand features are extended by their
// half-wave-rectified first difference over time ([x_t, max(0, x_t - x_{t-1})], a spectral-flux
// view, since a per-frame head cannot see change otherwise).
FrameFeatures load_frame_features(const FrameCacheInfo& cache, const std::vector<const ProbeItem*>& items, int layer);

// Per-dimension mean and population standard deviation (clamped to >= 1e-8) over all frames,
// float32, accumulated in double a slice at a time (no float32 copy of the whole split).
void frame_feature_stats(const FrameFeatures& f, at::Tensor& mean, at::Tensor& std);

// About the bytes load_frame_features will hold for `items` at `layer` (from the file sizes).
int64_t frame_feature_bytes(const FrameCacheInfo& cache, const std::vector<const ProbeItem*>& items, int layer);

}  // namespace mert::probe
