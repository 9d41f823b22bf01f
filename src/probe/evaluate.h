#pragma once
// Scoring a probe head's outputs on one split: chunk outputs are averaged per item (MARBLE's
// clip-level evaluation), then the task's metrics (mert::metrics) are computed. Key tasks also
// try the song-level clip ensembles of reference/marble-protocol.md §2.4.
#include <torch/types.h>

#include <map>
#include <string>
#include <vector>

#include "probe/probe.h"

namespace mert::probe {

// The labels of one split, item by item.
struct SplitTargets {
  std::vector<int64_t> labels;  // Multiclass / Key
  at::Tensor targets;           // Multilabel 0/1 or Regression values: float32 [N, C]
};

struct Evaluation {
  std::map<std::string, double> metrics;  // names as `mert metrics` prints them; regression adds r2_<output>
  double monitor = 0;                     // the task's monitor metric
  std::string key_strategy;               // Key: the clip ensemble used
  at::Tensor item_scores;                 // float64 [N, C]: mean of each item's chunk outputs
  std::vector<int> key_estimates;         // Key: the estimated class of each item
};

// The key ensembles, in the order they are tried (the first best wins a tie).
const std::vector<std::string>& key_strategies();

// chunk_out: [total_chunks, C] outputs (logits; regression: in target units). `key_strategy`
// empty: the best strategy on this split is used (validation); else that one (test).
Evaluation evaluate(const TaskSpec& task, const ProbeDataset& data, const at::Tensor& chunk_out,
                    const std::vector<int64_t>& offset, const std::vector<int64_t>& chunks, const SplitTargets& y,
                    const std::string& key_strategy = "");

}  // namespace mert::probe
