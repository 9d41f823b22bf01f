#include "train/checkpoint.h"

#include <ATen/ATen.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "io/json_value.h"
#include "mert/error.h"

namespace mert::train {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {
const char* kStateKey = "mert_pretrain_state";
const char* kGroups[] = {"model/", "heads/", "optimizer/"};
}  // namespace

std::string checkpoint_path(const std::string& run_dir) {
  return (fs::path(run_dir) / "checkpoints" / "last.safetensors").string();
}

std::string kept_checkpoint_path(const std::string& run_dir, int64_t update) {
  char name[64];
  std::snprintf(name, sizeof name, "update_%07lld.safetensors", static_cast<long long>(update));
  return (fs::path(run_dir) / "checkpoints" / name).string();
}

void keep_checkpoint(const std::string& run_dir, int64_t update) {
  const fs::path last = checkpoint_path(run_dir), kept = kept_checkpoint_path(run_dir, update);
  const fs::path tmp = kept.string() + ".tmp";
  std::error_code ec;
  fs::remove(tmp, ec);
  fs::create_hard_link(last, tmp, ec);  // the last file is never rewritten in place: safe to share
  if (ec) {
    ec.clear();
    fs::copy_file(last, tmp, ec);
  }
  if (!ec) fs::rename(tmp, kept, ec);
  if (ec) {
    const std::string why = ec.message();
    fs::remove(tmp, ec);
    throw Error("cannot keep the checkpoint of update " + std::to_string(update) + " as " + kept.string() + ": " + why);
  }
}

void save_checkpoint(const std::string& path, const CheckpointState& s) {
  TensorMap all;
  const TensorMap* groups[] = {&s.model, &s.heads, &s.optimizer};
  for (int g = 0; g < 3; ++g)
    for (const auto& [name, t] : *groups[g]) all[kGroups[g] + name] = t.detach().contiguous();
  json meta;
  meta["update"] = s.update;
  meta["skipped_updates"] = s.skipped_updates;
  meta["audio_seconds"] = s.audio_seconds;
  meta["world_size"] = s.world_size;
  meta["threads"] = s.threads;
  meta["label_names"] = s.label_names;
  meta["vocab_sizes"] = s.vocab_sizes;
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  write_safetensors(path, all, {{kStateKey, meta.dump()}, {"config", s.config_json}});
}

CheckpointState load_checkpoint(const std::string& path) {
  if (!fs::exists(path)) throw Error("no checkpoint at " + path + " (nothing to resume)");
  const auto meta = read_safetensors_metadata(path);
  auto it = meta.find(kStateKey);
  if (it == meta.end() || !meta.count("config"))
    throw Error(path + ": not a mert pre-training checkpoint (no training state in its metadata)");
  CheckpointState s;
  try {
    const json m = json::parse(it->second);
    auto field = [&](const char* key, auto& out) {
      if (!io::json_to(m.at(key), out))
        throw Error(path + ": damaged training state in the metadata ('" + key + "' has the wrong type or is out of range)");
    };
    field("update", s.update);
    field("skipped_updates", s.skipped_updates);
    field("audio_seconds", s.audio_seconds);
    field("world_size", s.world_size);
    field("threads", s.threads);
    field("label_names", s.label_names);
    field("vocab_sizes", s.vocab_sizes);
  } catch (const json::exception& e) {
    throw Error(path + ": damaged training state in the metadata (" + e.what() + ")");
  }
  s.config_json = meta.at("config");
  TensorMap* groups[] = {&s.model, &s.heads, &s.optimizer};
  for (auto& [name, t] : read_safetensors(path)) {
    bool placed = false;
    for (int g = 0; g < 3 && !placed; ++g)
      if (name.rfind(kGroups[g], 0) == 0) {
        (*groups[g])[name.substr(std::string(kGroups[g]).size())] = t;
        placed = true;
      }
    if (!placed) throw Error(path + ": unexpected tensor '" + name + "'");
  }
  return s;
}

}  // namespace mert::train
