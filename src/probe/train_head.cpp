#include "probe/train_head.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <set>

#include "mert/error.h"
#include "probe/epoch_schedule.h"
#include "probe/probe_head.h"

namespace mert::probe {
namespace {

SplitData load_split(const ProbeDataset& data, const CacheInfo& cache, const std::string& split) {
  const std::set<std::string> failed(cache.failed_ids.begin(), cache.failed_ids.end());
  SplitData s;
  for (const auto& it : data.items)
    if (it.split == split && !failed.count(it.id)) s.items.push_back(&it);
  if (s.items.empty()) throw Error("the " + split + " split has no usable items");
  s.features = load_features(cache, s.items);
  const auto n = static_cast<int64_t>(s.items.size());
  if (data.type == TaskType::Multiclass || data.type == TaskType::Key) {
    for (const auto* it : s.items) s.y.labels.push_back(it->label);
  } else {
    const auto c = static_cast<int64_t>(data.class_names.size());
    s.y.targets = torch::empty({n, c}, torch::kFloat);
    for (int64_t i = 0; i < n; ++i) {
      const auto& t = s.items[static_cast<size_t>(i)]->targets;
      if (static_cast<int64_t>(t.size()) != c)
        throw Error("item '" + s.items[static_cast<size_t>(i)]->id + "' has " + std::to_string(t.size()) +
                    " targets, expected " + std::to_string(c));
      s.y.targets[i] = torch::tensor(t);
    }
  }
  return s;
}

// Each chunk's training target, from its item's label: int64 [chunks] (classes) or float [chunks, C].
at::Tensor chunk_targets(const SplitData& s, const ProbeData& d, TaskType type) {
  const auto& f = s.features;
  const int64_t total = f.x.size(0);
  if (type == TaskType::Multiclass || type == TaskType::Key) {
    auto t = torch::empty({total}, torch::kLong);
    for (size_t i = 0; i < s.items.size(); ++i) t.narrow(0, f.offset[i], f.chunks[i]).fill_(s.y.labels[i]);
    return t;
  }
  at::Tensor y = s.y.targets;
  if (type == TaskType::Regression) y = (y - d.target_mean) / d.target_std;
  std::vector<int64_t> rows;
  for (size_t i = 0; i < s.items.size(); ++i) rows.insert(rows.end(), static_cast<size_t>(f.chunks[i]), static_cast<int64_t>(i));
  return y.index_select(0, torch::tensor(rows));
}

// The head's input for a layer choice: [chunks, D] or [chunks, L, D] (weighted sum of 1..L).
at::Tensor layer_input(const ProbeData& d, const at::Tensor& x, int layer) {
  at::Tensor v = x;
  if (d.feature_mean.defined()) v = (v - d.feature_mean) / d.feature_std;
  if (layer == kWeightedSum) return v.narrow(1, 1, v.size(1) - 1).contiguous();
  return v.select(1, layer).contiguous();
}

at::Tensor forward_all(ProbeHead& head, const at::Tensor& input) {
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> outs;
  for (int64_t s = 0; s < input.size(0); s += 4096) outs.push_back(head->forward(input.narrow(0, s, std::min<int64_t>(4096, input.size(0) - s))));
  return torch::cat(outs, 0);
}

// Outputs in the targets' units (regression: standardisation undone).
at::Tensor to_target_units(const ProbeData& d, TaskType type, const at::Tensor& out) {
  return type == TaskType::Regression ? out * d.target_std + d.target_mean : out;
}

}  // namespace

// Splittable seeding: a point's randomness depends on (seed, lr, layer) only, not on the order
// in which the sweep visits points, so a resumed sweep gives the same numbers.
uint64_t point_seed(uint64_t seed, double lr, int layer) {
  uint64_t h = seed ^ 0x9e3779b97f4a7c15ull;
  auto mix = [&h](uint64_t v) {
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 31;
  };
  uint64_t lr_bits;
  std::memcpy(&lr_bits, &lr, sizeof lr_bits);
  mix(lr_bits);
  mix(static_cast<uint64_t>(static_cast<int64_t>(layer)));
  return h;
}

void shuffle_order(std::vector<int64_t>& order, std::mt19937_64& rng) {
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[static_cast<size_t>(rng() % i)]);
}

TrainSettings point_settings(const TaskSpec& task, const ProbeOptions& o, double lr, int layer, int max_epochs) {
  TrainSettings s;
  s.lr = lr;
  s.layer = layer;
  s.seed = o.seed;
  s.batch_files = o.batch_files;
  s.hidden = o.hidden;
  s.dropout = o.dropout;
  s.max_epochs = max_epochs;
  s.plateau_patience = task.plateau_patience;
  s.early_stop_patience = task.early_stop_patience;
  return s;
}

ProbeData prepare_data(const TaskSpec& task, const ProbeDataset& data, const CacheInfo& cache, bool standardize_features) {
  ProbeData d;
  d.train = load_split(data, cache, "train");
  d.valid = load_split(data, cache, "valid");
  d.test = load_split(data, cache, "test");
  d.outputs = static_cast<int64_t>(data.class_names.size());
  if (task.type == TaskType::Regression) {
    d.target_mean = d.train.y.targets.mean(0);
    d.target_std = d.train.y.targets.std(0, /*unbiased=*/false).clamp_min(1e-8);
  }
  if (standardize_features) {
    d.feature_mean = d.train.features.x.mean(0);
    d.feature_std = d.train.features.x.std(0, /*unbiased=*/false).clamp_min(1e-8);
  }
  return d;
}

TrainedPoint train_point(const TaskSpec& task, const ProbeDataset& data, const ProbeData& d, const TrainSettings& s) {
  const auto t0 = std::chrono::steady_clock::now();
  const uint64_t seed = point_seed(s.seed, s.lr, s.layer);
  at::Generator gen = at::detail::createCPUGenerator(seed);
  std::mt19937_64 order_rng(seed ^ 0x5851f42d4c957f2dull);

  const int64_t n_layers = d.train.features.n_layers();
  if (s.layer != kWeightedSum && (s.layer < 0 || s.layer >= n_layers))
    throw Error("layer " + std::to_string(s.layer) + " out of range (features have " + std::to_string(n_layers) + ")");
  if (s.layer == kWeightedSum && n_layers < 2) throw Error("the weighted sum needs a model's hidden states");
  const at::Tensor x_train = layer_input(d, d.train.features.x, s.layer);
  const at::Tensor x_valid = layer_input(d, d.valid.features.x, s.layer);
  const at::Tensor y_train = chunk_targets(d.train, d, task.type);

  ProbeHead head(d.train.features.dim(), s.hidden, d.outputs, s.layer == kWeightedSum ? n_layers - 1 : 0, s.dropout,
                 gen);
  torch::optim::Adam opt(head->parameters(), torch::optim::AdamOptions(s.lr));
  EpochControl control(*head, opt, s.lr, s.plateau_patience, s.early_stop_patience);

  auto loss_of = [&](const at::Tensor& out, const at::Tensor& y) {
    switch (task.type) {
      case TaskType::Multilabel: return torch::binary_cross_entropy_with_logits(out, y);
      case TaskType::Regression: return torch::mse_loss(out, y);
      default: return torch::cross_entropy_loss(out, y);
    }
  };

  const auto& f = d.train.features;
  const auto n_items = static_cast<int64_t>(d.train.items.size());
  std::vector<int64_t> order(static_cast<size_t>(n_items));
  for (int64_t i = 0; i < n_items; ++i) order[static_cast<size_t>(i)] = i;

  TrainedPoint tp;
  for (int epoch = 1; epoch <= s.max_epochs; ++epoch) {
    head->train();
    shuffle_order(order, order_rng);
    bool finite = true;
    for (int64_t b = 0; b < n_items; b += s.batch_files) {
      std::vector<int64_t> rows;
      for (int64_t k = b; k < std::min(n_items, b + s.batch_files); ++k) {
        const auto item = static_cast<size_t>(order[static_cast<size_t>(k)]);
        for (int64_t c = 0; c < f.chunks[item]; ++c) rows.push_back(f.offset[item] + c);
      }
      const auto idx = torch::tensor(rows);
      opt.zero_grad();
      const auto loss = loss_of(head->forward(x_train.index_select(0, idx)), y_train.index_select(0, idx));
      if (!std::isfinite(loss.item<double>())) {
        finite = false;
        break;
      }
      loss.backward();
      opt.step();
    }
    tp.result.epochs = epoch;
    if (!finite) break;  // diverged (large learning rates): keep the best epoch so far

    head->eval();
    const Evaluation ev = evaluate(task, data, to_target_units(d, task.type, forward_all(head, x_valid)),
                                   d.valid.features.offset, d.valid.features.chunks, d.valid.y);
    if (control.after_epoch(epoch, ev.monitor)) break;
  }
  control.restore_best();
  tp.result.best_epoch = control.best_epoch();
  head->eval();
  tp.valid = evaluate(task, data, to_target_units(d, task.type, forward_all(head, x_valid)), d.valid.features.offset,
                      d.valid.features.chunks, d.valid.y);
  tp.test = evaluate(task, data, to_target_units(d, task.type, forward_all(head, layer_input(d, d.test.features.x, s.layer))),
                     d.test.features.offset, d.test.features.chunks, d.test.y, tp.valid.key_strategy);
  tp.result.lr = s.lr;
  tp.result.layer = s.layer;
  tp.result.valid = tp.valid.monitor;
  tp.result.test = tp.test.metrics;
  tp.result.key_strategy = tp.valid.key_strategy;
  if (const auto mix = head->layer_mix(); mix.defined())
    for (int64_t l = 0; l < mix.size(0); ++l) tp.layer_mix.push_back(mix[l].item<double>());
  tp.result.train_sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return tp;
}

}  // namespace mert::probe
