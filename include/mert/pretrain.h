#pragma once
// Pre-training configuration and the training run (`mert pretrain`, `mert export`).
// The objective is MERT's (docs/PRETRAIN.md): masked prediction of teacher labels with cosine
// logits, CQT reconstruction of the clean audio on masked frames, the conv feature penalty,
// in-batch noise mixup; AdamW with linear warmup and linear decay; data-parallel over c10d.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "mert/config.h"

namespace mert {

struct PretrainConfig {
  std::string preset = "tiny";
  ModelConfig model;
  // objective
  int64_t final_dim = 64;            // per-codebook projection size (128 for 330M)
  double logit_temp = 0.1;
  double mask_prob = 0.8;
  int64_t mask_length = 5;
  int64_t mask_min_masks = 2;
  std::vector<double> loss_weights{10.0, 1.0};  // [feature penalty, CQT reconstruction]
  bool cqt_loss = true;
  int64_t cqt_bins = 336;            // 48 per octave from 32.7 Hz
  // 0: the CQT target is the linear magnitude, as MERT. g > 0: log(1 + g * magnitude), which puts
  // the target on a scale where the musical teacher carries gradient at small scale (docs/PRETRAIN.md).
  double cqt_log_gain = 0.0;
  // false: the CQT is reconstructed on masked frames only, as MERT. true: on every frame, an
  // ablation; at the `small` scale it did not keep pitch in the features (docs/RESULTS.md).
  bool cqt_all_frames = false;
  double feature_grad_mult = 0.1;
  double mixup_prob = 0.5;           // probability that a clip IS mixed (see docs/PRETRAIN.md)
  int64_t mixup_min_len = 12000;
  int64_t mixup_max_len = 24000;
  int64_t mixup_max_segments = 3;
  // optimisation
  double lr = 5e-4;                  // peak learning rate
  double adam_beta1 = 0.9;
  double adam_beta2 = 0.98;
  double adam_eps = 1e-6;
  double weight_decay = 0.01;
  int64_t warmup_steps = 32000;      // linear warmup from 0, then linear decay to 0 at max_steps
  int64_t max_steps = 400000;        // updates: the schedule's end and the run's end
  double clip_norm = 10.0;           // 0 = no clipping
  int64_t update_freq = 1;           // batches accumulated per update
  std::string dtype = "fp32";        // "bf16": autocast matrix products to bfloat16 on the CPU
  // data
  int64_t batch_size = 4;            // clips per batch over all workers
  int64_t crop_samples = 120000;     // 5 s at 24 kHz
  int64_t min_samples = 72000;       // shorter clips are not trained on
  uint64_t seed = 1337;
  // bookkeeping
  int64_t log_every = 10;
  int64_t save_every = 200;          // checkpoint every N updates (and at the end)
  int64_t keep_every = 0;            // > 0: also keep checkpoints/update_NNNNNNN.safetensors every N updates
  int64_t valid_every = 200;         // held-out masked accuracy every N updates (0 = never)
  int64_t valid_batches = 8;

  // Presets: "tiny", "mert-v1-95m", "mert-v1-330m". Throws mert::Error for others.
  static PretrainConfig preset_named(const std::string& name);
  static std::string preset_names();
  // {"preset": ..., "model": <HF config.json>, "train": {...}}; from_json starts from the preset
  // the text names (or the current value) and overrides what the text sets.
  std::string to_json_string() const;
  static PretrainConfig from_json_string(const std::string& text, const std::string& origin);
  // The settings ("preset", train keys, model keys) whose values differ from `other`'s, except
  // max_steps: the ones that make a resumed run something other than a continuation.
  std::vector<std::string> differences(const PretrainConfig& other) const;
  // Sets one field from text: a train field ("lr", "mask_prob", "loss_weights" as "10,1") or a
  // model field by its config.json name ("hidden_size", "layerdrop", ...). Throws mert::Error
  // naming the key for unknown keys and unparsable values.
  void set(const std::string& key, const std::string& value);
  static bool is_key(const std::string& key);
  void validate() const;  // throws mert::Error for inconsistent settings
  double lr_at(int64_t update) const;  // learning rate of update `update` (0-based)
};

struct PretrainRunOptions {
  std::string manifest_dir;   // holds train.tsv (and valid.tsv for held-out accuracy)
  std::string label_dir;      // <split>.<name> and dict.<name>.txt for every label name
  std::vector<std::string> label_names;
  std::string out_dir;        // run dir: config.json, log.jsonl, checkpoints/
  bool resume = false;
  int threads = 0;            // 0 = libtorch's default
  double dist_timeout_sec = 300;  // a collective or the rendezvous waiting longer fails
};

// Runs (or resumes) pre-training; rank/world come from the torchrun environment variables.
// Returns the process exit code. Throws mert::Error for bad input.
int run_pretrain(const PretrainConfig& cfg, const PretrainRunOptions& opts);

// Writes a Hugging Face-layout model dir (config.json, preprocessor_config.json,
// model.safetensors without the pre-training heads) from a run dir's latest checkpoint, or the
// one kept after `update` updates (keep_every), with weights stored as `weight_dtype` (fp32, bf16).
void export_pretrained(const std::string& run_dir, const std::string& model_dir, int64_t update = -1,
                       const std::string& weight_dtype = "fp32");

}  // namespace mert
