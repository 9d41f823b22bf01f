#include "probe/feature_cache.h"

#include <torch/torch.h>

#include <filesystem>

#include "embed/embed_run.h"
#include "mert/error.h"
#include "model/model_dir.h"
#include "io/npy.h"
#include "teachers/teacher_runs.h"

namespace mert::probe {
namespace fs = std::filesystem;
namespace {

// MARBLE drops a last chunk shorter than 1 s (reference/marble-protocol.md §2.2).
constexpr double kMinLastChunkSec = 1.0;

std::string hex8(const std::string& s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s) h = (h ^ c) * 16777619u;
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", h);
  return buf;
}

std::string npy_path(const std::string& dir, const std::string& id) { return (fs::path(dir) / (id + ".npy")).string(); }

}  // namespace

// Items share a cache when they come from the same data dir with the same cutting; the task
// name does not matter (synth-pitch and synth-instrument read the same notes).
std::string cache_data_tag(const TaskSpec& task, const ProbeOptions& o) {
  const fs::path abs = fs::absolute(o.data_dir).lexically_normal();
  const std::string base = abs.filename().empty() ? abs.parent_path().filename().string() : abs.filename().string();
  char cut[64];
  std::snprintf(cut, sizeof cut, "crop%g-chunk%g", task.crop_sec, task.chunk_sec);
  return base + "-" + cut + "-" + hex8(abs.string());
}

std::vector<InputItem> cache_input_items(const TaskSpec& task, const ProbeDataset& data) {
  std::vector<InputItem> items;
  items.reserve(data.items.size());
  for (const auto& it : data.items) {
    InputItem in{it.path, it.id, "", it.start_sec, it.duration_sec};
    if (task.crop_sec > 0) in.duration_sec = in.duration_sec > 0 ? std::min(in.duration_sec, task.crop_sec) : task.crop_sec;
    items.push_back(std::move(in));
  }
  return items;
}

CacheInfo build_cache(const TaskSpec& task, const ProbeDataset& data, const ProbeOptions& o, ProbeObserver& obs) {
  const std::string root = o.cache_dir.empty() ? (fs::path(o.out_dir) / "cache").string() : o.cache_dir;
  const auto items = cache_input_items(task, data);
  CacheInfo info;
  RunStats st;
  if (!o.features.hand.empty()) {
    FeatureRunOptions fo;
    fo.type = parse_teacher_feature(o.features.hand);
    fo.chunk_stats_sec = task.chunk_sec > 0 ? task.chunk_sec : 1e9;
    fo.min_last_chunk_sec = kMinLastChunkSec;
    fo.jobs = std::max(1, o.features.jobs);
    fo.overwrite = o.overwrite;
    info.source = "features:" + o.features.hand;
    info.dir = (fs::path(root) / ("features-" + o.features.hand) / cache_data_tag(task, o)).string();
    fo.out_dir = info.dir;
    obs.on_message("caching " + o.features.hand + " mean/std features of " + std::to_string(items.size()) +
                   " items -> " + info.dir);
    st = run_features(items, fo, obs.cache_observer());
  } else {
    LoadedModel m = load_model_dir(o.features.model_dir, o.features.dtype);
    info.source = "model:" + model_fingerprint(m) + ":" + o.features.dtype;
    info.model_config = m.config.to_string();
    info.num_hidden_layers = m.config.num_hidden_layers;
    RunOptions ro;
    ro.embed.pool = Pool::Chunks;
    ro.embed.chunk_sec = task.chunk_sec;
    ro.embed.min_last_chunk_sec = kMinLastChunkSec;
    ro.embed.batch = std::max(1, o.features.embed_batch);
    ro.embed.validate(m.config);
    ro.overwrite = o.overwrite;
    info.dir = (fs::path(root) / ("model-" + model_fingerprint(m) + "-" + o.features.dtype) / cache_data_tag(task, o)).string();
    ro.out_dir = info.dir;
    obs.on_message("caching hidden states (" + std::to_string(m.config.num_hidden_layers + 1) + " layers, " +
                   ro.embed.to_string() + ") of " + std::to_string(items.size()) + " items -> " + info.dir);
    st = run_embedding(m, items, ro, obs.cache_observer());
  }
  for (const auto& it : data.items)
    if (!fs::exists(npy_path(info.dir, it.id))) info.failed_ids.push_back(it.id);
  obs.on_message("cache: " + std::to_string(st.ok) + " computed, " + std::to_string(st.skipped) + " already there, " +
                 std::to_string(info.failed_ids.size()) + " failed");
  return info;
}

ChunkFeatures load_features(const CacheInfo& cache, const std::vector<const ProbeItem*>& items) {
  ChunkFeatures f;
  std::vector<at::Tensor> parts;
  parts.reserve(items.size());
  int64_t total = 0;
  for (const ProbeItem* it : items) {
    const std::string path = npy_path(cache.dir, it->id);
    at::Tensor t = read_npy(path);
    if (t.dim() != 3 || t.size(1) < 1) throw Error(path + ": expected [layers, chunks, dim] features, got " + std::to_string(t.dim()) + " dims");
    if (!parts.empty() && (t.size(0) != parts[0].size(1) || t.size(2) != parts[0].size(2)))
      throw Error(path + ": feature shape differs from the other items of the cache");
    f.offset.push_back(total);
    f.chunks.push_back(t.size(1));
    total += t.size(1);
    parts.push_back(t.to(torch::kFloat).transpose(0, 1));  // [chunks, layers, dim]
  }
  if (parts.empty()) throw Error("no items to load features for");
  f.x = torch::cat(parts, 0).contiguous();
  return f;
}

}  // namespace mert::probe
