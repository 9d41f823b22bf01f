#include "probe/sweep_points.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <ATen/Parallel.h>

#include "probe/report.h"
#include "util/worker_pool.h"

namespace mert::probe {

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string point_name(double lr, int layer) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "lr%g_layer%s", lr, layer_label(layer).c_str());
  return buf;
}

nlohmann::ordered_json point_json(const PointResult& p) {
  nlohmann::ordered_json j;
  j["lr"] = p.lr;
  j["layer"] = layer_label(p.layer);
  j["valid"] = p.valid;
  j["best_epoch"] = p.best_epoch;
  j["epochs"] = p.epochs;
  j["train_sec"] = p.train_sec;
  if (!p.key_strategy.empty()) j["key_strategy"] = p.key_strategy;
  j["test"] = p.test;
  return j;
}

PointResult point_from_json(const nlohmann::json& j) {
  PointResult p;
  p.lr = j.at("lr").get<double>();
  const std::string layer = j.at("layer").get<std::string>();
  p.layer = layer == "wsum" ? kWeightedSum : std::stoi(layer);
  p.valid = j.at("valid").is_null() ? NAN : j.at("valid").get<double>();
  p.best_epoch = j.at("best_epoch").get<int>();
  p.epochs = j.at("epochs").get<int>();
  p.train_sec = j.at("train_sec").get<double>();
  if (j.contains("key_strategy")) p.key_strategy = j.at("key_strategy").get<std::string>();
  for (const auto& kv : j.at("test").items()) p.test[kv.key()] = kv.value().is_null() ? NAN : kv.value().get<double>();
  p.resumed = true;
  return p;
}

double task_score(const TaskSpec& task, const std::map<std::string, double>& test) {
  double s = 0;
  for (const auto& m : task.score_metrics) s += test.at(m);
  return task.score_scale * s / static_cast<double>(task.score_metrics.size());
}

PointResult choose_point(const std::vector<PointResult>& points) {
  PointResult chosen = points.front();
  for (const auto& p : points)
    if (p.valid > chosen.valid || !std::isfinite(chosen.valid)) chosen = p;
  return chosen;
}

const char* task_type_name(TaskType t) {
  switch (t) {
    case TaskType::Multiclass: return "multiclass";
    case TaskType::Multilabel: return "multilabel";
    case TaskType::Regression: return "regression";
    case TaskType::Key: return "key";
    case TaskType::Beat: return "beat";
    case TaskType::Chords: return "chords";
    case TaskType::Stems: return "stems";
  }
  return "?";
}

nlohmann::ordered_json sweep_settings(const std::string& format, const TaskSpec& task, const std::string& source,
                                      const std::string& cache_dir, const ProbeOptions& o, int max_epochs) {
  nlohmann::ordered_json j;
  j["format"] = format;
  j["task"] = task.name;
  j["features"] = source;
  j["cache"] = std::filesystem::absolute(cache_dir).lexically_normal().string();
  j["seed"] = o.seed;
  j["batch_files"] = o.batch_files;
  j["hidden"] = o.hidden;
  j["dropout"] = o.dropout;
  j["max_epochs"] = max_epochs;
  return j;
}

void train_heads_at_once(size_t count, int jobs, const std::function<void(size_t)>& fn) {
  if (count == 0) return;
  struct RestoreThreads {
    int n;
    ~RestoreThreads() { at::set_num_threads(n); }
  } restore{at::get_num_threads()};
  util::WorkerPool pool(static_cast<int>(std::min<size_t>(count, static_cast<size_t>(std::max(1, jobs)))));
  pool.parallel_for(static_cast<int64_t>(count), [&](int64_t k, int) {
    at::set_num_threads(1);
    fn(static_cast<size_t>(k));
  });
}

}  // namespace mert::probe
