#pragma once
// `mert probe`: the MARBLE probing protocol for clip-level and frame-level tasks. Frozen features (a model's
// hidden states or a hand-crafted baseline) are cached per chunk, a small MLP head is trained per
// (learning rate, layer) sweep point, the point best on the validation split is chosen, and its
// test-split predictions are scored once. See docs/PROBE.md.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "embed/embed_run.h"  // RunObserver, EmbedOptions
#include "probe/probe_dataset.h"

namespace mert::probe {

// One clip-level task: how to read it, how to cut its audio, how to train and judge the head.
struct TaskSpec {
  std::string name;        // "gtzan", "synth-key", ...
  std::string summary;     // one line for --help
  TaskType type;
  DatasetReader reader;
  std::string suite_dir;   // sub-directory of a suite's --data dir holding this task's data ("nsynth")
  double crop_sec = 0;     // use only the first crop_sec of each item (0 = all of it)
  double chunk_sec = 30;   // chunks, each a training example; an item's chunk logits are averaged
  int plateau_patience = 3, early_stop_patience = 10, max_epochs = 100;
  int marble_layer = -1;   // MARBLE's default layer for MERT-v1-95M (-1 = weighted sum); informative
  // Test metrics whose mean (x100) is the task's score in a MARBLE-style average.
  std::vector<std::string> score_metrics;
  std::string monitor;     // the validation metric that selects epochs and sweep points
  // Frame-level tasks (Beat, Chords): training crops (seconds, 0 = whole items), the frames
  // either side of a beat also labelled beat in training, and the default learning rates (a
  // frame head costs ~frames-per-item times a clip head, so the sweep is narrower).
  double train_crop_sec = 0;
  int beat_widen = 0;
  std::vector<double> default_lrs{};  // empty: kProtocolLrs
  // Source separation: random training segments (seconds) and how many per track and epoch.
  double segment_sec = 6;
  int segments_per_track = 64;
  double score_scale = 100;  // the score is the mean of score_metrics times this (SDR: 1, in dB)
};

// The six learning rates of MARBLE's sweep.
inline const std::vector<double> kProtocolLrs{5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 1e-2};

const std::vector<TaskSpec>& task_specs();
// Throws mert::Error listing the known names.
const TaskSpec& find_task(const std::string& name);
// Task names of a suite ("synth": the synthetic tasks made by `mert synth`).
std::vector<std::string> suite_tasks(const std::string& suite);

// Where features come from: a model dir, or a hand-crafted baseline (mean and standard deviation
// over time of a teacher feature: mfcc | logmel | cqt | chroma).
struct FeatureSource {
  std::string model_dir;
  std::string dtype = "fp32";  // model compute dtype: fp32 | bf16 | int8
  std::string hand;            // non-empty: the baseline's feature name instead of a model
  int embed_batch = 1;         // chunks per forward pass while caching
  int jobs = 1;                // hand features: files computed in parallel
};

// Layer choices of a sweep: a hidden-state index 0..L, or kWeightedSum (learned softmax-weighted
// sum of layers 1..L, MARBLE's "all").
constexpr int kWeightedSum = -1;

struct ProbeOptions {
  std::string task, data_dir, out_dir;
  std::string cache_dir;  // "" = <out_dir>/cache; share one between runs to never re-embed
  FeatureSource features;
  std::vector<double> lrs;   // empty = the task's default_lrs (clip-level tasks: kProtocolLrs)
  std::vector<int> layers;  // empty = every hidden state and the weighted sum
  uint64_t seed = 1234;
  int batch_files = 64;     // items per batch (each expanded into all its chunks)
  int hidden = 512;
  double dropout = 0.2;
  int max_epochs = 0;       // 0 = the task's setting
  bool skip_failed = false; // items whose audio fails to decode: drop them (default: refuse)
  bool overwrite = false;   // recompute cached features and sweep points
  // Heads trained at once, each single-threaded (0 = libtorch's intra-op thread count). A head's
  // numbers do not depend on this or on the thread count.
  int sweep_jobs = 0;
  int segments_per_track = 0;  // source separation: training segments per track and epoch (0 = the task's)

  void validate() const;
};

// One trained head: its sweep point and what it scored.
struct PointResult {
  double lr = 0;
  int layer = 0;
  int epochs = 0, best_epoch = 0;
  double valid = 0;                    // the task's monitor on the validation split, best epoch
  std::map<std::string, double> test;  // test metrics of the best epoch (layer curve; the report
                                       // gives only the chosen point's as the result)
  std::string key_strategy;            // key tasks: the clip-ensemble strategy chosen on validation
  double train_sec = 0;
  bool resumed = false;                // read back from a previous run
};

class ProbeObserver {
 public:
  virtual ~ProbeObserver() = default;
  virtual RunObserver& cache_observer() = 0;                 // progress while caching features
  virtual void on_message(const std::string& line) {}        // one line of status
  virtual void on_point(size_t done, size_t total, const PointResult& r, double eta_sec) {}
};

struct ProbeReport {
  std::string task;
  PointResult chosen;
  std::vector<PointResult> points;
  double score = 0;  // the task's MARBLE-style score (x100)
  std::string results_json_path;
};

// Runs one task end to end; writes results.json, results.md, sweep.csv, layer_curve.svg and the
// test predictions into out_dir. Resumable: cached features and finished sweep points are kept.
ProbeReport run_probe(const ProbeOptions& o, ProbeObserver& obs);

// Several tasks: each into <out_dir>/<task>, data from <data_dir>/<task's suite_dir>; then
// summary.md / summary.json with a MARBLE-style average over the tasks.
std::vector<ProbeReport> run_suite(const std::vector<std::string>& tasks, const ProbeOptions& o, ProbeObserver& obs);

}  // namespace mert::probe
