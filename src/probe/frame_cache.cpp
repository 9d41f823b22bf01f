#include "probe/frame_cache.h"

#include <torch/torch.h>

#include <filesystem>

#include "embed/embed_run.h"
#include "io/npy.h"
#include "mert/error.h"
#include "model/model_dir.h"
#include "probe/feature_cache.h"
#include "teachers/teacher_runs.h"

namespace mert::probe {
namespace fs = std::filesystem;
namespace {

std::string npy_path(const std::string& dir, const std::string& id) { return (fs::path(dir) / (id + ".npy")).string(); }

std::string layer_tag(const std::vector<int>& layers) {
  std::string s = "L";
  for (size_t i = 0; i < layers.size(); ++i) s += (i ? "_" : "") + std::to_string(layers[i]);
  return s;
}

// Where hidden state `layer` sits in the cached files.
int64_t cached_index(const FrameCacheInfo& cache, int layer) {
  for (size_t i = 0; i < cache.layers.size(); ++i)
    if (cache.layers[i] == layer) return static_cast<int64_t>(i);
  throw Error("hidden state " + std::to_string(layer) + " is not in the frame cache " + cache.dir);
}

// [T, D] float32 hand frames -> [T, 2D] float16 with the rectified first difference.
at::Tensor with_flux(const at::Tensor& x) {
  at::Tensor diff = torch::zeros_like(x);
  if (x.size(0) > 1) diff.narrow(0, 1, x.size(0) - 1).copy_((x.narrow(0, 1, x.size(0) - 1) - x.narrow(0, 0, x.size(0) - 1)).clamp_min(0));
  return torch::cat({x, diff}, 1).to(torch::kHalf);
}

}  // namespace

FrameCacheInfo build_frame_cache(const TaskSpec& task, const ProbeDataset& data, const ProbeOptions& o,
                                 const std::vector<int>& layers, ProbeObserver& obs) {
  const std::string root = o.cache_dir.empty() ? (fs::path(o.out_dir) / "cache").string() : o.cache_dir;
  const auto items = cache_input_items(task, data);
  FrameCacheInfo info;
  RunStats st;
  if (!o.features.hand.empty()) {
    FeatureRunOptions fo;
    fo.type = parse_teacher_feature(o.features.hand);
    fo.model_grid = true;
    fo.jobs = std::max(1, o.features.jobs);
    fo.overwrite = o.overwrite;
    info.source = "features:" + o.features.hand;
    info.layers = {0};
    info.sample_rate = static_cast<int64_t>(fo.params.sample_rate);
    info.fps = static_cast<double>(fo.params.sample_rate) / static_cast<double>(fo.grid.hop());
    info.dir = (fs::path(root) / ("frames-features-" + o.features.hand) / cache_data_tag(task, o)).string();
    fo.out_dir = info.dir;
    obs.on_message("caching " + o.features.hand + " frames of " + std::to_string(items.size()) + " items -> " + info.dir);
    st = run_features(items, fo, obs.cache_observer());
  } else {
    LoadedModel m = load_model_dir(o.features.model_dir, o.features.dtype);
    info.source = "model:" + model_fingerprint(m) + ":" + o.features.dtype;
    info.model_config = m.config.to_string();
    info.num_hidden_layers = m.config.num_hidden_layers;
    info.layers = layers;
    info.sample_rate = m.config.sample_rate;
    info.fps = static_cast<double>(m.config.sample_rate) / static_cast<double>(ModelGrid{m.config.conv_kernel, m.config.conv_stride}.hop());
    RunOptions ro;
    ro.embed.pool = Pool::None;
    ro.embed.chunk_sec = task.chunk_sec;
    ro.embed.layers.assign(layers.begin(), layers.end());
    ro.embed.batch = std::max(1, o.features.embed_batch);
    ro.embed.validate(m.config);
    ro.half_frames = true;
    ro.overwrite = o.overwrite;
    info.dir = (fs::path(root) / ("frames-model-" + model_fingerprint(m) + "-" + o.features.dtype + "-" + layer_tag(layers)) /
                cache_data_tag(task, o)).string();
    ro.out_dir = info.dir;
    obs.on_message("caching float16 frames of hidden states " + layer_tag(layers).substr(1) + " (" + ro.embed.to_string() +
                   ") of " + std::to_string(items.size()) + " items -> " + info.dir);
    st = run_embedding(m, items, ro, obs.cache_observer());
  }
  for (const auto& it : data.items)
    if (!fs::exists(npy_path(info.dir, it.id))) info.failed_ids.push_back(it.id);
  obs.on_message("cache: " + std::to_string(st.ok) + " computed, " + std::to_string(st.skipped) + " already there, " +
                 std::to_string(info.failed_ids.size()) + " failed");
  return info;
}

FrameFeatures load_frame_features(const FrameCacheInfo& cache, const std::vector<const ProbeItem*>& items, int layer) {
  const bool hand = cache.num_hidden_layers == 0;
  if (layer == kWeightedSum && hand) throw Error("the weighted sum needs a model's hidden states");
  if (items.empty()) throw Error("no items to load features for");
  // Frame counts from the headers first, so that the frames go straight into one tensor (reading
  // them into parts and concatenating would need twice the memory at the peak).
  FrameFeatures f;
  int64_t total = 0, dim = -1;
  for (const ProbeItem* it : items) {
    const std::string path = npy_path(cache.dir, it->id);
    const std::vector<int64_t> shape = read_npy_shape(path);
    if (shape.size() != (hand ? 2u : 3u))
      throw Error(path + ": expected " + (hand ? "[frames, dim]" : "[layers, frames, dim]") + " features");
    const int64_t d = hand ? 2 * shape[1] : shape[2];
    if (dim >= 0 && d != dim) throw Error(path + ": feature shape differs from the other items of the cache");
    dim = d;
    f.offset.push_back(total);
    f.frames.push_back(shape[hand ? 0 : 1]);
    total += f.frames.back();
  }
  f.x = layer == kWeightedSum ? torch::empty({total, cache.num_hidden_layers, dim}, torch::kHalf)
                              : torch::empty({total, dim}, torch::kHalf);
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string path = npy_path(cache.dir, items[i]->id);
    at::Tensor dst = f.x.narrow(0, f.offset[i], f.frames[i]);
    if (hand) {
      dst.copy_(with_flux(read_npy(path).to(torch::kFloat)));
    } else if (layer == kWeightedSum) {
      for (int l = 1; l <= cache.num_hidden_layers; ++l) dst.select(1, l - 1).copy_(read_npy_index(path, cached_index(cache, l)));
    } else {
      dst.copy_(read_npy_index(path, cached_index(cache, layer)));
    }
  }
  return f;
}

void frame_feature_stats(const FrameFeatures& f, at::Tensor& mean, at::Tensor& std) {
  const int64_t n = f.total();
  if (n == 0) throw Error("no frames to standardise with");
  at::Tensor sum = torch::zeros(f.x.sizes().slice(1), torch::kDouble), sq = torch::zeros_like(sum);
  for (int64_t s = 0; s < n; s += 65536) {
    const at::Tensor x = f.x.narrow(0, s, std::min<int64_t>(65536, n - s)).to(torch::kDouble);
    sum += x.sum(0);
    sq += x.square().sum(0);
  }
  const at::Tensor m = sum / static_cast<double>(n);
  mean = m.to(torch::kFloat);
  std = (sq / static_cast<double>(n) - m.square()).clamp_min(0).sqrt().clamp_min(1e-8).to(torch::kFloat);
}

int64_t frame_feature_bytes(const FrameCacheInfo& cache, const std::vector<const ProbeItem*>& items, int layer) {
  int64_t bytes = 0;
  for (const ProbeItem* it : items) {
    std::error_code ec;
    const auto size = static_cast<int64_t>(fs::file_size(npy_path(cache.dir, it->id), ec));
    if (!ec) bytes += size;
  }
  if (cache.num_hidden_layers == 0) return bytes;  // float32 [T, D] -> float16 [T, 2D]: the same
  const auto n = static_cast<int64_t>(cache.layers.size());
  return layer == kWeightedSum ? bytes / n * cache.num_hidden_layers : bytes / n;
}

}  // namespace mert::probe
