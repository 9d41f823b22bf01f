#pragma once
// Training checkpoints: one safetensors file holding everything a bitwise-identical resume
// needs - model and head parameters, AdamW moments - and, in its metadata, the update count, the
// resolved config and the run's shape (world size, threads, label streams). No random state is
// stored: batches, masks and mixup are addressed by update number (KeyedRng) and the dropout
// generator is reseeded from (seed, rank, update) at every update, so the update count is the
// whole data and RNG position. Written atomically: a kill leaves the previous file.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "io/weights.h"

namespace mert::train {

struct CheckpointState {
  int64_t update = 0;            // updates completed
  int64_t skipped_updates = 0;   // non-finite updates skipped so far
  double audio_seconds = 0;      // trained on so far, all ranks
  int world_size = 1;
  int threads = 0;
  std::string config_json;       // PretrainConfig::to_json_string()
  std::vector<std::string> label_names;
  std::vector<int64_t> vocab_sizes;
  TensorMap model, heads, optimizer;
};

std::string checkpoint_path(const std::string& run_dir);  // <run>/checkpoints/last.safetensors
// <run>/checkpoints/update_NNNNNNN.safetensors: a kept copy of the checkpoint after `update` updates.
std::string kept_checkpoint_path(const std::string& run_dir, int64_t update);
// Keeps the current last checkpoint under kept_checkpoint_path (a hard link where the file
// system allows, else a copy; written whole or not at all).
void keep_checkpoint(const std::string& run_dir, int64_t update);
void save_checkpoint(const std::string& path, const CheckpointState& state);
// Throws mert::Error naming the file when it is missing or not a pre-training checkpoint.
CheckpointState load_checkpoint(const std::string& path);

}  // namespace mert::train
