// `mert probe` end to end: read the task's data, cache features, sweep (lr x layer) with one
// head per point (each point's result kept on disk, so a killed sweep continues), choose by
// validation, write the test predictions and the reports.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <mutex>
#include <sstream>

#include "io/atomic_file.h"
#include "io/run_dir.h"
#include "mert/error.h"
#include "mert/metrics.h"
#include "io/npy.h"
#include "probe/probe.h"
#include "mert/teacher_features.h"
#include "util/system_info.h"
#include "probe/feature_cache.h"
#include "probe/report.h"
#include "probe/run_frame_probe.h"
#include "probe/sweep_points.h"
#include "probe/train_head.h"

namespace mert::probe {
namespace fs = std::filesystem;
namespace {


nlohmann::ordered_json test_json(const TaskSpec& task, const ProbeDataset& data, const std::map<std::string, double>& m) {
  nlohmann::ordered_json j;
  if (task.type == TaskType::Regression) {
    std::vector<double> r2;
    for (const auto& name : data.class_names) r2.push_back(m.at("r2_" + name));
    j["r2"] = r2;
  }
  for (const auto& kv : m) j[kv.first] = kv.first == "skipped_classes" ? nlohmann::json(static_cast<int64_t>(kv.second)) : nlohmann::json(kv.second);
  return j;
}

// The test predictions of the chosen point, for anyone to rescore.
void write_predictions(const std::string& out, const TaskSpec& task, const ProbeDataset& data, const SplitData& test,
                       const std::string& point_dir, const PointResult& chosen) {
  const std::string base = (fs::path(point_dir) / point_name(chosen.lr, chosen.layer)).string();
  fs::copy_file(base + ".test_scores.npy", out + "/test_scores.npy.tmp", fs::copy_options::overwrite_existing);
  fs::rename(out + "/test_scores.npy.tmp", out + "/test_scores.npy");
  std::string ids;
  for (const auto* it : test.items) ids += it->id + "\n";
  io::write_text_atomic(out + "/test_ids.txt", ids);
  if (task.type == TaskType::Multiclass || task.type == TaskType::Key)
    write_npy(out + "/test_targets.npy", torch::tensor(test.y.labels, torch::kLong));
  else
    write_npy(out + "/test_targets.npy", test.y.targets);
  if (task.type == TaskType::Key) {
    const auto est = nlohmann::json::parse(read_text(base + ".json")).at("test_key_estimates").get<std::vector<int>>();
    std::string ref_tsv, est_tsv;
    for (size_t i = 0; i < test.items.size(); ++i) {
      ref_tsv += test.items[i]->id + "\t" + metrics::key_name(static_cast<int>(test.y.labels[i])) + "\n";
      est_tsv += test.items[i]->id + "\t" + metrics::key_name(est[i]) + "\n";
    }
    io::write_text_atomic(out + "/test_keys_ref.tsv", ref_tsv);
    io::write_text_atomic(out + "/test_keys.tsv", est_tsv);
  }
  std::string classes;
  for (const auto& c : data.class_names) classes += c + "\n";
  io::write_text_atomic(out + "/classes.txt", classes);
}

}  // namespace

void ProbeOptions::validate() const {
  if (task.empty()) throw Error("missing --task");
  if (data_dir.empty()) throw Error("missing --data <dataset dir>");
  if (out_dir.empty()) throw Error("missing -o <out dir>");
  if (features.model_dir.empty() == features.hand.empty())
    throw Error("give either a model dir or a hand feature (mfcc, logmel, cqt or chroma)");
  if (!features.hand.empty()) parse_teacher_feature(features.hand);  // throws on unknown names
  for (double lr : lrs)
    if (!(lr > 0) || !std::isfinite(lr)) throw Error("learning rates must be positive");
  if (batch_files < 1) throw Error("the batch (items per step) must be >= 1");
  if (hidden < 1) throw Error("the hidden width must be >= 1");
  if (segments_per_track < 0) throw Error("the segments per track must be >= 0");
  if (!(dropout >= 0 && dropout < 1)) throw Error("dropout must be in [0, 1)");
  if (max_epochs < 0) throw Error("the epoch count must be >= 0");
}

ProbeReport run_probe(const ProbeOptions& options, ProbeObserver& obs) {
  options.validate();
  const TaskSpec& task = find_task(options.task);
  ProbeOptions o = options;
  if (o.lrs.empty()) o.lrs = task.default_lrs.empty() ? kProtocolLrs : task.default_lrs;
  if (is_frame_level(task.type)) return run_frame_probe(task, o, obs);
  const auto t_start = std::chrono::steady_clock::now();
  const ProbeDataset data = task.reader(o.data_dir);
  std::map<std::string, int> per_split;
  for (const auto& it : data.items) ++per_split[it.split];
  obs.on_message(task.name + ": " + std::to_string(data.items.size()) + " items (train " +
                 std::to_string(per_split["train"]) + ", valid " + std::to_string(per_split["valid"]) + ", test " +
                 std::to_string(per_split["test"]) + "), " + std::to_string(data.class_names.size()) +
                 (task.type == TaskType::Regression ? " outputs" : " classes"));
  fs::create_directories(o.out_dir);
  for (const char* name : {"results.json", "test_scores.npy", "test_ids.txt", "test_targets.npy", "test_keys_ref.tsv",
                           "test_keys.tsv", "classes.txt"})
    io::remove_stale_temps((fs::path(o.out_dir) / name).string());

  const CacheInfo cache = build_cache(task, data, o, obs);
  if (!cache.failed_ids.empty() && !o.skip_failed)
    throw Error(std::to_string(cache.failed_ids.size()) + " items could not be decoded (first: '" + cache.failed_ids[0] +
                "'; reasons in " + cache.dir + "/failures.tsv); fix them or pass --skip-failed to leave them out");
  const ProbeData d = prepare_data(task, data, cache, !o.features.hand.empty());
  const int64_t n_layers = d.train.features.n_layers();

  std::vector<int> layers = o.layers;
  if (n_layers == 1 && !layers.empty() &&
      std::all_of(layers.begin(), layers.end(), [](int l) { return l == kWeightedSum; })) {
    obs.on_message("hand-crafted features have one 'layer': probing it instead of the weighted sum");
    layers = {0};
  }
  if (layers.empty()) {
    for (int l = 0; l < n_layers; ++l) layers.push_back(l);
    if (n_layers > 1) layers.push_back(kWeightedSum);
  }
  for (int l : layers)
    if (l != kWeightedSum && (l < 0 || l >= n_layers))
      throw Error("layer " + std::to_string(l) + " does not exist (the features have hidden states 0.." +
                  std::to_string(n_layers - 1) + ")");
  const int max_epochs = o.max_epochs > 0 ? o.max_epochs : task.max_epochs;

  // Sweep points from an earlier run are reused only under identical settings.
  nlohmann::ordered_json settings = sweep_settings("mert-probe/1", task, cache.source, cache.dir, o, max_epochs);
  const std::string point_dir = (fs::path(o.out_dir) / "points").string();
  fs::create_directories(point_dir);
  if (o.overwrite)
    for (const auto& e : fs::directory_iterator(point_dir)) fs::remove(e.path());
  io::check_and_record_settings((fs::path(o.out_dir) / "probe-settings.json").string(), settings.dump(2) + "\n",
                                o.overwrite, {"cache"}, o.out_dir);

  ProbeReport report;
  report.task = task.name;
  // Every point's record is kept in points/; a rerun reads the finished ones back.
  std::vector<std::pair<double, int>> grid;
  for (double lr : o.lrs)
    for (int layer : layers) grid.emplace_back(lr, layer);
  report.points.resize(grid.size());
  std::vector<size_t> todo;
  auto base_of = [&](size_t i) { return (fs::path(point_dir) / point_name(grid[i].first, grid[i].second)).string(); };
  for (size_t i = 0; i < grid.size(); ++i) {
    const std::string base = base_of(i);
    // A killed run may have left a point's temp file behind (named after its pid); whether the
    // point finished or not, nothing will rename it now.
    io::remove_stale_temps(base + ".test_scores.npy");
    io::remove_stale_temps(base + ".json");
    if (fs::exists(base + ".json") && fs::exists(base + ".test_scores.npy"))
      report.points[i] = point_from_json(nlohmann::json::parse(read_text(base + ".json")));
    else
      todo.push_back(i);
  }
  size_t done = grid.size() - todo.size();
  if (done) obs.on_message(std::to_string(done) + " of " + std::to_string(grid.size()) + " sweep points read back from " + point_dir);

  // Heads are small: several train at once, each on one thread (no thread-pool contention, and
  // each head's numbers independent of how many run together).
  const int prev_threads = torch::get_num_threads();
  const int jobs = static_cast<int>(std::min<size_t>(todo.size(), static_cast<size_t>(o.sweep_jobs > 0 ? o.sweep_jobs : prev_threads)));
  std::mutex mu;
  size_t trained = 0;
  const auto sweep_start = std::chrono::steady_clock::now();
  train_heads_at_once(todo.size(), jobs, [&](size_t k) {
    const size_t i = todo[k];
    const TrainedPoint tp = train_point(task, data, d, point_settings(task, o, grid[i].first, grid[i].second, max_epochs));
    nlohmann::ordered_json j = point_json(tp.result);
    if (!tp.test.key_estimates.empty()) j["test_key_estimates"] = tp.test.key_estimates;
    if (!tp.layer_mix.empty()) j["layer_mix"] = tp.layer_mix;
    // Scores first, then the record: a point counts as done only when both exist.
    const std::string base = base_of(i);
    write_npy(base + ".test_scores.npy", tp.test.item_scores);
    io::write_text_atomic(base + ".json", j.dump(2) + "\n");
    std::lock_guard<std::mutex> g(mu);
    report.points[i] = tp.result;
    ++trained;
    ++done;
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - sweep_start).count();
    obs.on_point(done, grid.size(), tp.result, wall / static_cast<double>(trained) * static_cast<double>(todo.size() - trained));
  });

  // Selection by validation only; ties go to the first point in sweep order.
  report.chosen = choose_point(report.points);
  report.score = task_score(task, report.chosen.test);

  const std::string out = o.out_dir;
  write_predictions(out, task, data, d.test, point_dir, report.chosen);
  const std::string chosen_record = read_text((fs::path(point_dir) / (point_name(report.chosen.lr, report.chosen.layer) + ".json")).string());

  std::string source = cache.source;
  if (!cache.model_config.empty()) source += " (" + cache.model_config + ")";
  nlohmann::ordered_json r;
  r["format"] = "mert-probe-results/1";
  r["task"] = task.name;
  r["type"] = task_type_name(task.type);
  r["data_dir"] = fs::absolute(o.data_dir).lexically_normal().string();
  r["items"] = {{"train", d.train.items.size()}, {"valid", d.valid.items.size()}, {"test", d.test.items.size()}};
  r["items_failed"] = cache.failed_ids;
  r["classes"] = data.class_names;
  r["features"] = {{"source", cache.source},
                   {"model_dir", o.features.model_dir},
                   {"model_config", cache.model_config},
                   {"dtype", o.features.hand.empty() ? o.features.dtype : ""},
                   {"hand", o.features.hand},
                   {"crop_sec", task.crop_sec},
                   {"chunk_sec", task.chunk_sec},
                   {"pool", o.features.hand.empty() ? "mean over each chunk's frames"
                                                    : "mean and std over each chunk's frames, standardised"},
                   {"cache", cache.dir}};
  r["protocol"] = {{"head", "MLP " + std::to_string(d.train.features.dim()) + "-" + std::to_string(o.hidden) + "-" +
                                std::to_string(d.outputs) + ", ReLU, dropout " + std::to_string(o.dropout)},
                   {"optimizer", "Adam"},
                   {"batch_files", o.batch_files},
                   {"max_epochs", max_epochs},
                   {"plateau_patience", task.plateau_patience},
                   {"early_stop_patience", task.early_stop_patience},
                   {"monitor", "valid " + task.monitor},
                   {"lrs", o.lrs},
                   {"seed", o.seed},
                   {"heads_at_once", jobs},
                   {"threads_per_head", 1}};
  std::vector<std::string> layer_names;
  for (int l : layers) layer_names.push_back(layer_label(l));
  r["protocol"]["layers"] = layer_names;
  for (const auto& p : report.points) r["sweep"].push_back(point_json(p));
  nlohmann::ordered_json chosen = point_json(report.chosen);
  const auto rec = nlohmann::json::parse(chosen_record);
  if (rec.contains("layer_mix")) chosen["layer_mix"] = rec["layer_mix"];
  r["chosen"] = chosen;
  r["test"] = test_json(task, data, report.chosen.test);
  r["score"] = report.score;
  r["score_metrics"] = task.score_metrics;
  r["build"] = build_info();
  r["wall_sec"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  report.results_json_path = (fs::path(out) / "results.json").string();
  io::write_text_atomic(report.results_json_path, r.dump(2) + "\n");

  std::ostringstream summary;
  summary << "- data: " << o.data_dir << " (train " << d.train.items.size() << ", valid " << d.valid.items.size()
          << ", test " << d.test.items.size() << " items; " << task.chunk_sec << " s chunks"
          << (task.crop_sec > 0 ? ", first " + std::to_string(static_cast<int>(task.crop_sec)) + " s" : "") << ")\n"
          << "- sweep: " << o.lrs.size() << " learning rates x " << layers.size() << " layers, seed " << o.seed << "\n";
  write_results_md(out + "/results.md", task, source, summary.str(), report.points, report.chosen, report.score);
  write_sweep_csv(out + "/sweep.csv", task, report.points);
  write_layer_curve_svg(out + "/layer_curve.svg", task, source, report.points, report.chosen);
  return report;
}

std::vector<ProbeReport> run_suite(const std::vector<std::string>& tasks, const ProbeOptions& o, ProbeObserver& obs) {
  std::vector<ProbeReport> reports;
  for (size_t i = 0; i < tasks.size(); ++i) {
    const TaskSpec& spec = find_task(tasks[i]);
    ProbeOptions t = o;
    t.task = spec.name;
    t.data_dir = (fs::path(o.data_dir) / spec.suite_dir).string();
    t.out_dir = (fs::path(o.out_dir) / spec.name).string();
    if (t.cache_dir.empty()) t.cache_dir = (fs::path(o.out_dir) / "cache").string();  // shared across tasks
    obs.on_message("task " + std::to_string(i + 1) + "/" + std::to_string(tasks.size()) + ": " + spec.name);
    reports.push_back(run_probe(t, obs));
  }
  std::string source = o.features.hand.empty() ? "model " + o.features.model_dir + " (" + o.features.dtype + ")"
                                               : "hand features: " + o.features.hand;
  write_suite_summary(o.out_dir, reports, source);
  return reports;
}

}  // namespace mert::probe
