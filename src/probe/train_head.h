#pragma once
// Training one probe head (one sweep point) on cached features, MARBLE-style: Adam, batches of
// items expanded into their chunks, ReduceLROnPlateau(x0.5) and early stopping on the task's
// validation metric, the best epoch's weights restored and scored on validation and test.
#include <torch/types.h>

#include <cstdint>
#include <random>
#include <vector>

#include "probe/evaluate.h"
#include "probe/feature_cache.h"

namespace mert::probe {

// One split in memory.
struct SplitData {
  std::vector<const ProbeItem*> items;
  ChunkFeatures features;
  SplitTargets y;
};

struct ProbeData {
  SplitData train, valid, test;
  int64_t outputs = 0;
  // Regression targets are standardised with the training split's mean and std; outputs are
  // mapped back before scoring.
  at::Tensor target_mean, target_std;
  // Hand-crafted features are standardised per dimension with the training split's statistics
  // (undefined for model features, which MARBLE feeds as they are).
  at::Tensor feature_mean, feature_std;
};

// Reads the cached features and labels of every split.
ProbeData prepare_data(const TaskSpec& task, const ProbeDataset& data, const CacheInfo& cache, bool standardize_features);

struct TrainSettings {
  double lr = 1e-3;
  int layer = 0;  // hidden-state index, or kWeightedSum
  uint64_t seed = 1234;
  int batch_files = 64, hidden = 512;
  double dropout = 0.2;
  int max_epochs = 100, plateau_patience = 3, early_stop_patience = 10;
};

struct TrainedPoint {
  PointResult result;
  Evaluation valid, test;
  std::vector<double> layer_mix;  // weighted sum: the learned softmax weights of layers 1..L
};

// The settings of sweep point (lr, layer) of `task` under `o`.
TrainSettings point_settings(const TaskSpec& task, const ProbeOptions& o, double lr, int layer, int max_epochs);

// Fisher-Yates with `rng`: portable across standard libraries (std::shuffle is not).
void shuffle_order(std::vector<int64_t>& order, std::mt19937_64& rng);

// A sweep point's seed: it depends on (seed, lr, layer) only, not on the order in which the sweep
// visits points, so a resumed sweep gives the same numbers.
uint64_t point_seed(uint64_t seed, double lr, int layer);

TrainedPoint train_point(const TaskSpec& task, const ProbeDataset& data, const ProbeData& d, const TrainSettings& s);

}  // namespace mert::probe
