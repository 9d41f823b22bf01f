#include "probe/evaluate.h"

#include <torch/torch.h>

#include "mert/error.h"
#include "mert/metrics.h"

namespace mert::probe {
namespace {

metrics::Matrix to_matrix(const at::Tensor& t) {
  const at::Tensor d = t.to(torch::kDouble).contiguous();
  metrics::Matrix m;
  m.rows = d.size(0);
  m.cols = d.size(1);
  m.data.assign(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
  return m;
}

// One item's estimated key from its chunk logits [k, 24].
int ensemble_key(const at::Tensor& logits, const std::string& strategy) {
  if (strategy == "mean_logit") return static_cast<int>(logits.mean(0).argmax().item<int64_t>());
  if (strategy == "mean_softmax") return static_cast<int>(torch::softmax(logits, 1).mean(0).argmax().item<int64_t>());
  if (strategy == "max_logit") return static_cast<int>(std::get<0>(logits.max(0)).argmax().item<int64_t>());
  if (strategy == "vote") {
    const at::Tensor votes = torch::bincount(logits.argmax(1), {}, logits.size(1));
    return static_cast<int>(votes.argmax().item<int64_t>());  // ties: the lowest class, as numpy
  }
  throw Error("unknown key ensemble '" + strategy + "'");
}

}  // namespace

const std::vector<std::string>& key_strategies() {
  static const std::vector<std::string> s{"mean_logit", "mean_softmax", "max_logit", "vote"};
  return s;
}

Evaluation evaluate(const TaskSpec& task, const ProbeDataset& data, const at::Tensor& chunk_out,
                    const std::vector<int64_t>& offset, const std::vector<int64_t>& chunks, const SplitTargets& y,
                    const std::string& key_strategy) {
  const auto n = static_cast<int64_t>(offset.size());
  const at::Tensor out = chunk_out.to(torch::kDouble);
  Evaluation e;
  e.item_scores = torch::empty({n, out.size(1)}, torch::kDouble);
  for (int64_t i = 0; i < n; ++i) e.item_scores[i] = out.narrow(0, offset[i], chunks[i]).mean(0);

  switch (task.type) {
    case TaskType::Multiclass: {
      const auto s = metrics::multiclass(y.labels, to_matrix(e.item_scores));
      e.metrics = {{"accuracy", s.accuracy}, {"top5_accuracy", s.top5_accuracy}};
      break;
    }
    case TaskType::Multilabel: {
      const auto s = metrics::multilabel(to_matrix(y.targets), to_matrix(e.item_scores));
      e.metrics = {{"roc_auc_macro", s.roc_auc_macro},
                   {"ap_macro", s.ap_macro},
                   {"f1_macro", s.f1_macro},
                   {"skipped_classes", static_cast<double>(s.skipped_classes)}};
      break;
    }
    case TaskType::Regression: {
      const auto s = metrics::regression(to_matrix(y.targets), to_matrix(e.item_scores));
      e.metrics = {{"r2_mean", s.r2_mean}};
      for (size_t k = 0; k < s.r2.size(); ++k)
        e.metrics["r2_" + (k < data.class_names.size() ? data.class_names[k] : std::to_string(k))] = s.r2[k];
      break;
    }
    case TaskType::Key: {
      std::vector<int> refs(y.labels.begin(), y.labels.end());
      const std::vector<std::string> tried =
          key_strategy.empty() ? key_strategies() : std::vector<std::string>{key_strategy};
      double best = -1;
      for (const auto& strategy : tried) {
        std::vector<int> est(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) est[static_cast<size_t>(i)] = ensemble_key(out.narrow(0, offset[i], chunks[i]), strategy);
        const auto s = metrics::key(refs, est);
        if (s.weighted_score > best) {
          best = s.weighted_score;
          e.metrics = {{"weighted_score", s.weighted_score}, {"accuracy", s.accuracy}};
          e.key_strategy = strategy;
          e.key_estimates = std::move(est);
        }
      }
      break;
    }
    case TaskType::Beat:
    case TaskType::Chords:
    case TaskType::Stems:
      throw Error(task.name + " is a frame-level task: it is scored per frame, not by averaging chunks");
  }
  e.monitor = e.metrics.at(task.monitor);
  return e;
}

}  // namespace mert::probe
