// `mert probe` for beat tracking and chords: the clip-level run's shape (cache, sweep with
// resumable points, choice by validation, reports), but with frame features loaded one layer at a
// time, since every layer of every frame does not fit in memory for a real dataset.
#include "probe/run_frame_probe.h"

#include <torch/torch.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <set>
#include <sstream>

#include <unistd.h>

#include "io/atomic_file.h"
#include "io/run_dir.h"
#include "mert/beat_tracker.h"
#include "mert/config.h"
#include "mert/error.h"
#include "probe/frame_head.h"
#include "probe/stems_head.h"
#include "probe/readers.h"
#include "probe/report.h"
#include "probe/sweep_points.h"
#include "util/system_info.h"

namespace mert::probe {
namespace fs = std::filesystem;
namespace {

// The weighted sum over every hidden state is refused (and left out of a default sweep) when its
// frames would need more memory than this.
constexpr int64_t kFrameMemoryBudget = int64_t{6} << 30;

// Shortest text that reads back as the same double: rescoring the written files gives the same
// numbers exactly.
std::string exact(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::string beats_text(const std::vector<double>& beats) {
  std::string s;
  for (double b : beats) s += exact(b) + "\n";
  return s;
}

std::string lab_text(const std::vector<metrics::ChordSegment>& segs) {
  std::string s;
  for (const auto& g : segs) s += exact(g.start) + "\t" + exact(g.end) + "\t" + g.label + "\n";
  return s;
}

// A point's test estimates in its record, keyed by item id.
nlohmann::ordered_json estimates_json(const TaskSpec& task, const FrameSplit& test, const FrameEvaluation& ev) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (size_t i = 0; i < test.items.size(); ++i) {
    if (task.type == TaskType::Beat) {
      j[test.items[i]->id] = ev.beats[i];
    } else {
      nlohmann::ordered_json segs = nlohmann::ordered_json::array();
      for (const auto& g : ev.chords[i]) segs.push_back({g.start, g.end, g.label});
      j[test.items[i]->id] = segs;
    }
  }
  return j;
}

// The chosen point's test estimates and the references beside them, one file per item.
void write_estimates(const std::string& out, const TaskSpec& task, const ProbeDataset& data, const FrameCacheInfo& cache,
                     const nlohmann::json& record) {
  const std::string est_dir = out + "/test_estimates", ref_dir = out + "/test_reference";
  for (const std::string& d : {est_dir, ref_dir}) {
    fs::remove_all(d);
    fs::create_directories(d);
  }
  const std::set<std::string> failed(cache.failed_ids.begin(), cache.failed_ids.end());
  const auto& est = record.at("test_estimates");
  const std::string ext = task.type == TaskType::Beat ? ".beats" : ".lab";
  for (const auto& it : data.items) {
    if (it.split != "test" || failed.count(it.id)) continue;
    std::string ref, mine;
    if (task.type == TaskType::Beat) {
      ref = beats_text(read_beat_annotation(it.annotation));
      mine = beats_text(est.at(it.id).get<std::vector<double>>());
    } else {
      ref = lab_text(metrics::read_chord_lab(it.annotation));
      std::vector<metrics::ChordSegment> segs;
      for (const auto& g : est.at(it.id)) segs.push_back({g.at(0).get<double>(), g.at(1).get<double>(), g.at(2).get<std::string>()});
      mine = lab_text(segs);
    }
    io::write_text_atomic(ref_dir + "/" + it.id + ext, ref);
    io::write_text_atomic(est_dir + "/" + it.id + ext, mine);
  }
}

std::vector<const ProbeItem*> usable_items(const ProbeDataset& data, const FrameCacheInfo& cache) {
  const std::set<std::string> failed(cache.failed_ids.begin(), cache.failed_ids.end());
  std::vector<const ProbeItem*> out;
  for (const auto& it : data.items)
    if (!failed.count(it.id)) out.push_back(&it);
  return out;
}

void save_head(StemsHead& head, const std::string& path) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  torch::save(head, tmp);
  fs::rename(tmp, path);
}

void load_head(StemsHead& head, const std::string& path) {
  try {
    torch::load(head, path);
  } catch (const c10::Error& e) {
    throw Error(path + ": cannot load the head's weights (" + std::string(e.what_without_backtrace()) + ")");
  }
}

std::string gib(int64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f GiB", static_cast<double>(bytes) / static_cast<double>(int64_t{1} << 30));
  return buf;
}

}  // namespace

ProbeReport run_frame_probe(const TaskSpec& task, const ProbeOptions& o, ProbeObserver& obs) {
  const auto t_start = std::chrono::steady_clock::now();
  // The sweep's layers, and the hidden states to cache for them.
  const bool hand = !o.features.hand.empty();
  const int64_t L = hand ? 0 : ModelConfig::from_json_file((fs::path(o.features.model_dir) / "config.json").string()).num_hidden_layers;
  std::vector<int> layers = o.layers;
  const bool default_layers = layers.empty();
  if (hand) {
    if (!layers.empty() && std::any_of(layers.begin(), layers.end(), [](int l) { return l != 0 && l != kWeightedSum; }))
      throw Error("hand-crafted features have one 'layer' (0)");
    if (!layers.empty() && layers != std::vector<int>{0})
      obs.on_message("hand-crafted features have one 'layer': probing it instead of the weighted sum");
    layers = {0};
  } else if (default_layers) {
    for (int l = 0; l <= L; ++l) layers.push_back(l);
    layers.push_back(kWeightedSum);
  }
  std::set<int> needed;
  for (int l : layers) {
    if (l == kWeightedSum) {
      for (int k = 1; k <= L; ++k) needed.insert(k);
    } else if (l < 0 || l > L) {
      throw Error("layer " + std::to_string(l) + " does not exist (the model has hidden states 0.." + std::to_string(L) + ")");
    } else {
      needed.insert(l);
    }
  }
  const ProbeDataset data = task.reader(o.data_dir);
  std::map<std::string, int> per_split;
  for (const auto& it : data.items) ++per_split[it.split];
  obs.on_message(task.name + ": " + std::to_string(data.items.size()) + " items (train " + std::to_string(per_split["train"]) +
                 ", valid " + std::to_string(per_split["valid"]) + ", test " + std::to_string(per_split["test"]) + "), " +
                 std::to_string(data.class_names.size()) + " classes per frame");
  fs::create_directories(o.out_dir);
  io::remove_stale_temps((fs::path(o.out_dir) / "results.json").string());

  const FrameCacheInfo cache = build_frame_cache(task, data, o, std::vector<int>(needed.begin(), needed.end()), obs);
  if (!cache.failed_ids.empty() && !o.skip_failed)
    throw Error(std::to_string(cache.failed_ids.size()) + " items could not be decoded (first: '" + cache.failed_ids[0] +
                "'; reasons in " + cache.dir + "/failures.tsv); fix them or pass --skip-failed to leave them out");

  // Memory: one layer's frames at a time; the weighted sum holds all of them.
  if (std::count(layers.begin(), layers.end(), kWeightedSum)) {
    const int64_t bytes = frame_feature_bytes(cache, usable_items(data, cache), kWeightedSum);
    if (bytes > kFrameMemoryBudget) {
      const std::string why = "the weighted sum of " + std::to_string(L) + " layers needs about " + gib(bytes) +
                              " of frames in memory (limit " + gib(kFrameMemoryBudget) + ")";
      if (!default_layers) throw Error(why + "; probe single layers instead (--layers 0,6,12)");
      obs.on_message(why + ": left out of the sweep");
      layers.erase(std::remove(layers.begin(), layers.end(), kWeightedSum), layers.end());
    }
  }

  const int max_epochs = o.max_epochs > 0 ? o.max_epochs : task.max_epochs;
  const metrics::DbnOptions dbn_options = [&] {
    metrics::DbnOptions d;
    d.fps = cache.fps;
    return d;
  }();
  const metrics::DbnBeatTracker dbn(dbn_options);
  const int64_t crop_frames = static_cast<int64_t>(std::llround(task.train_crop_sec * cache.fps));
  StemsSettings stems_settings;
  stems_settings.segment_sec = task.segment_sec;
  stems_settings.segments_per_track = o.segments_per_track > 0 ? o.segments_per_track : task.segments_per_track;

  nlohmann::ordered_json settings = sweep_settings("mert-frame-probe/1", task, cache.source, cache.dir, o, max_epochs);
  settings["train_crop_frames"] = crop_frames;
  settings["beat_widen"] = task.beat_widen;
  if (task.type == TaskType::Beat) settings["dbn"] = dbn_options.to_string();
  if (task.type == TaskType::Stems) {
    settings["segment_sec"] = stems_settings.segment_sec;
    settings["segments_per_track"] = stems_settings.segments_per_track;
    settings["stems_batch"] = stems_settings.batch;
  }
  const std::string point_dir = (fs::path(o.out_dir) / "points").string();
  fs::create_directories(point_dir);
  if (o.overwrite)
    for (const auto& e : fs::directory_iterator(point_dir)) fs::remove(e.path());
  io::check_and_record_settings((fs::path(o.out_dir) / "probe-settings.json").string(), settings.dump(2) + "\n",
                                o.overwrite, {"cache"}, o.out_dir);

  ProbeReport report;
  report.task = task.name;
  std::vector<std::pair<double, int>> grid;
  for (int layer : layers)
    for (double lr : o.lrs) grid.emplace_back(lr, layer);
  report.points.resize(grid.size());
  auto base_of = [&](size_t i) { return (fs::path(point_dir) / point_name(grid[i].first, grid[i].second)).string(); };
  std::map<int, std::vector<size_t>> todo_by_layer;  // layer -> grid indices still to train
  size_t done = 0;
  for (size_t i = 0; i < grid.size(); ++i) {
    io::remove_stale_temps(base_of(i) + ".json");
    io::remove_stale_temps(base_of(i) + ".pt");
    if (fs::exists(base_of(i) + ".json") && (task.type != TaskType::Stems || fs::exists(base_of(i) + ".pt"))) {
      report.points[i] = point_from_json(nlohmann::json::parse(read_text(base_of(i) + ".json")));
      ++done;
    } else {
      todo_by_layer[grid[i].second].push_back(i);
    }
  }
  if (done) obs.on_message(std::to_string(done) + " of " + std::to_string(grid.size()) + " sweep points read back from " + point_dir);

  const int prev_threads = torch::get_num_threads();
  const int max_jobs = o.sweep_jobs > 0 ? o.sweep_jobs : prev_threads;
  std::mutex mu;
  size_t trained = 0, total_todo = grid.size() - done;
  const auto sweep_start = std::chrono::steady_clock::now();
  for (int layer : layers) {
    const auto& todo = todo_by_layer[layer];
    if (todo.empty()) continue;
    const bool stems = task.type == TaskType::Stems;
    const FrameData d = stems ? FrameData{} : load_frame_data(task, data, cache, layer, task.beat_widen);
    const StemsData sd = stems ? load_stems_data(data, cache, layer, true) : StemsData{};
    train_heads_at_once(todo.size(), max_jobs, [&](size_t k) {
      const size_t i = todo[k];
      const TrainSettings s = point_settings(task, o, grid[i].first, grid[i].second, max_epochs);
      PointResult result;
      if (stems) {
        TrainedStemsPoint tp = train_stems_point(sd, s, stems_settings);
        // The head's weights first, then the record: the chosen point's test separations are
        // remade from them at the end (audio is too large to keep per point).
        save_head(tp.head, base_of(i) + ".pt");
        nlohmann::ordered_json j = point_json(tp.result);
        if (!tp.layer_mix.empty()) j["layer_mix"] = tp.layer_mix;
        io::write_text_atomic(base_of(i) + ".json", j.dump() + "\n");
        result = tp.result;
      } else {
        const TrainedFramePoint tp = train_frame_point(task, data, d, s, crop_frames, dbn);
        nlohmann::ordered_json j = point_json(tp.result);
        if (!tp.layer_mix.empty()) j["layer_mix"] = tp.layer_mix;
        j["test_estimates"] = estimates_json(task, d.test, tp.test);
        io::write_text_atomic(base_of(i) + ".json", j.dump() + "\n");
        result = tp.result;
      }
      std::lock_guard<std::mutex> g(mu);
      report.points[i] = result;
      ++trained;
      ++done;
      const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - sweep_start).count();
      obs.on_point(done, grid.size(), result, wall / static_cast<double>(trained) * static_cast<double>(total_todo - trained));
    });
  }

  report.chosen = choose_point(report.points);
  report.score = task_score(task, report.chosen.test);
  const std::string out = o.out_dir;
  const std::string chosen_base = (fs::path(point_dir) / point_name(report.chosen.lr, report.chosen.layer)).string();
  const auto record = nlohmann::json::parse(read_text(chosen_base + ".json"));
  if (task.type == TaskType::Stems) {
    // The chosen head separates the test tracks again and writes them; the numbers must be the
    // ones its sweep point recorded.
    obs.on_message("writing the chosen head's test separations");
    const StemsData sd = load_stems_data(data, cache, report.chosen.layer, false);
    TrainSettings s;
    s.lr = report.chosen.lr;
    s.layer = report.chosen.layer;
    s.seed = o.seed;
    s.hidden = o.hidden;
    StemsHead head = make_stems_head(sd, s);
    load_head(head, chosen_base + ".pt");
    for (const char* sub : {"/test_estimates", "/test_reference"}) fs::remove_all(out + sub);
    // One thread, as the sweep's heads ran: the same reductions, so the same samples.
    const int threads = torch::get_num_threads();
    at::set_num_threads(1);
    const auto again = evaluate_stems(head, sd, sd.test, out);
    at::set_num_threads(threads);
    if (again != report.chosen.test)
      throw Error("the chosen head's test separations score " + std::to_string(again.at("sdr")) + " dB, its sweep point recorded " +
                  std::to_string(report.chosen.test.at("sdr")) + " dB (" + chosen_base + ".pt changed?)");
  } else {
    write_estimates(out, task, data, cache, record);
  }
  std::string classes;
  for (const auto& c : data.class_names) classes += c + "\n";
  io::write_text_atomic(out + "/classes.txt", classes);

  std::string source = cache.source;
  if (!cache.model_config.empty()) source += " (" + cache.model_config + ")";
  nlohmann::ordered_json r;
  r["format"] = "mert-probe-results/1";
  r["task"] = task.name;
  r["type"] = task_type_name(task.type);
  r["data_dir"] = fs::absolute(o.data_dir).lexically_normal().string();
  r["items"] = {{"train", per_split["train"]}, {"valid", per_split["valid"]}, {"test", per_split["test"]}};
  r["items_failed"] = cache.failed_ids;
  r["classes"] = data.class_names;
  r["features"] = {{"source", cache.source},
                   {"model_dir", o.features.model_dir},
                   {"model_config", cache.model_config},
                   {"dtype", hand ? "" : o.features.dtype},
                   {"hand", o.features.hand},
                   {"frames_per_sec", cache.fps},
                   {"chunk_sec", task.chunk_sec},
                   {"pool", hand ? "every frame, with its rectified first difference, standardised"
                                 : "every frame (cached as float16)"},
                   {"cached_layers", cache.layers},
                   {"cache", cache.dir}};
  r["protocol"] = {{"head", "per frame: MLP -" + std::to_string(o.hidden) + "-" + std::to_string(data.class_names.size()) +
                                ", ReLU, dropout " + std::to_string(o.dropout)},
                   {"loss", task.type == TaskType::Beat ? "cross-entropy, beats widened by " + std::to_string(task.beat_widen) +
                                                              " frame(s) in training"
                                                        : "cross-entropy over major/minor/N frames (other chords not trained)"},
                   {"decoding", task.type == TaskType::Beat ? "DBN beat tracker (" + dbn_options.to_string() + ")"
                                                            : "argmax per frame, equal frames merged into segments"},
                   {"optimizer", "Adam"},
                   {"batch_files", o.batch_files},
                   {"train_crop_frames", crop_frames},
                   {"max_epochs", max_epochs},
                   {"plateau_patience", task.plateau_patience},
                   {"early_stop_patience", task.early_stop_patience},
                   {"monitor", "valid " + task.monitor},
                   {"lrs", o.lrs},
                   {"seed", o.seed},
                   {"threads_per_head", 1}};
  std::vector<std::string> layer_names;
  for (int l : layers) layer_names.push_back(layer_label(l));
  r["protocol"]["layers"] = layer_names;
  for (const auto& p : report.points) r["sweep"].push_back(point_json(p));
  nlohmann::ordered_json chosen = point_json(report.chosen);
  if (record.contains("layer_mix")) chosen["layer_mix"] = record["layer_mix"];
  r["chosen"] = chosen;
  r["test"] = report.chosen.test;
  r["score"] = report.score;
  r["score_metrics"] = task.score_metrics;
  r["rescore"] = std::string("mert metrics ") + (task.type == TaskType::Beat ? "beat" : "chord") +
                 " --ref test_reference --est test_estimates";
  r["build"] = build_info();
  r["wall_sec"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  report.results_json_path = (fs::path(out) / "results.json").string();
  io::write_text_atomic(report.results_json_path, r.dump(2) + "\n");

  std::ostringstream summary;
  summary << "- data: " << o.data_dir << " (train " << per_split["train"] << ", valid " << per_split["valid"] << ", test "
          << per_split["test"] << " items; frames at " << cache.fps << " per second)\n"
          << "- sweep: " << o.lrs.size() << " learning rates x " << layers.size() << " layers, seed " << o.seed << "\n"
          << "- rescore: `" << r["rescore"].get<std::string>() << "` in this directory\n";
  write_results_md(out + "/results.md", task, source, summary.str(), report.points, report.chosen, report.score);
  write_sweep_csv(out + "/sweep.csv", task, report.points);
  write_layer_curve_svg(out + "/layer_curve.svg", task, source, report.points, report.chosen);
  return report;
}

}  // namespace mert::probe
