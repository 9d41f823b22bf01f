// `mert probe`: a thin shell over mert::probe::run_probe / run_suite.
#include <torch/torch.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iostream>

#include "args.h"
#include "default_model.h"
#include "commands.h"
#include "mert/error.h"
#include "probe/probe.h"
#include "util/system_info.h"
#include "progress.h"

namespace mert::cli {
namespace {

class ProbeProgress : public probe::ProbeObserver {
 public:
  explicit ProbeProgress(bool verbose) : cache_(verbose), verbose_(verbose), tty_(::isatty(STDERR_FILENO)) {}
  RunObserver& cache_observer() override { return cache_; }
  void on_message(const std::string& line) override {
    cache_.finish();
    std::cerr << "probe: " << line << "\n";
  }
  void on_point(size_t done, size_t total, const probe::PointResult& r, double eta_sec) override {
    char buf[256];
    std::snprintf(buf, sizeof buf, "[%zu/%zu] lr %g layer %s: valid %.4f (epoch %d of %d, %.1f s%s) | ETA %s", done, total,
                  r.lr, r.layer == probe::kWeightedSum ? "wsum" : std::to_string(r.layer).c_str(), r.valid,
                  r.best_epoch, r.epochs, r.train_sec, r.resumed ? ", from an earlier run" : "",
                  eta_sec >= 0 ? hms(eta_sec).c_str() : "?");
    if (tty_ && !verbose_) {
      std::fprintf(stderr, "\r\033[K%s", buf);
      if (done == total) std::fprintf(stderr, "\n");
    } else {
      std::fprintf(stderr, "%s\n", buf);
    }
    std::fflush(stderr);
  }

 private:
  ProgressReporter cache_;
  bool verbose_, tty_;
};

std::vector<int> parse_probe_layers(const std::string& s) {
  std::vector<int> out;
  if (s == "all") return out;  // every hidden state and the weighted sum
  for (const auto& part : split_commas(s, "--layers")) {
    if (part == "wsum") {
      out.push_back(probe::kWeightedSum);
      continue;
    }
    try {
      size_t used = 0;
      const int v = std::stoi(part, &used);
      if (used != part.size() || v < 0) throw std::invalid_argument(part);
      out.push_back(v);
    } catch (const std::exception&) {
      throw Error("--layers: '" + part + "' is neither a hidden-state index nor 'wsum'");
    }
  }
  return out;
}

std::vector<double> parse_lrs(const std::string& s) {
  std::vector<double> out;
  for (const auto& part : split_commas(s, "--lrs")) {
    try {
      size_t used = 0;
      const double v = std::stod(part, &used);
      if (used != part.size()) throw std::invalid_argument(part);
      out.push_back(v);
    } catch (const std::exception&) {
      throw Error("--lrs: '" + part + "' is not a number");
    }
  }
  return out;
}

std::string task_list() {
  std::string s;
  for (const auto& t : probe::task_specs()) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "  %-19s %s\n", t.name.c_str(), t.summary.c_str());
    s += buf;
  }
  return s;
}

}  // namespace

int cmd_probe(int argc, char** argv) {
  Args args("probe",
            "--task <task> --data <dataset dir> [-m <model dir> | --features mfcc|logmel|cqt|chroma] -o <out dir> [options]",
            "Scores frozen features on a MIR task with the MARBLE probing protocol: features are cached per\n"
            "chunk (hidden states averaged over each chunk's frames; every chunk is a training example and an\n"
            "item's chunk outputs are averaged at evaluation), an MLP D-512-C (ReLU, dropout 0.2, Adam, 64 items\n"
            "per batch, LR x0.5 on plateau, early stopping) is trained for each learning rate x layer (every\n"
            "hidden state and a learned softmax-weighted sum of layers 1..L), the point best on validation is\n"
            "chosen and its test predictions are scored once.\n"
            "Outputs in -o: results.json (every sweep point, the chosen one, its 'test' metrics), results.md,\n"
            "sweep.csv, layer_curve.svg, test_scores.npy / test_targets.npy / test_ids.txt (test_keys.tsv and\n"
            "test_keys_ref.tsv for key tasks) to rescore with 'mert metrics'. A killed run resumes: cached\n"
            "features and finished sweep points are kept. Data layouts and the protocol: docs/PROBE.md.\n\n"
            "Frame-level tasks (synth-beat, gtzan-beat, synth-chords) label every 75 Hz frame: the same head\n"
            "runs on each frame (10 s training crops), beats are decoded with the DBN tracker and chords by\n"
            "merging equal frames. Separation (synth-stems, musdb18) trains an Open-Unmix-style head on\n"
            "random 6 s segments (--segments per track and epoch; CPU-heavy) with a Wiener post-filter.\n"
            "The chosen point's test estimates go to test_estimates/ beside test_reference/ (rescore:\n"
            "'mert metrics beat|chord|sdr --ref test_reference --est test_estimates'). Only the hidden states the\n"
            "sweep needs are cached, as float16 frames (95M: 3.5 MB per layer per 30 s item); the sweep loads\n"
            "one layer at a time. Give --layers to cache fewer (e.g. --layers 6 for a quick look).\n\n"
            "tasks:\n" + task_list() +
            "\nsuites (--suite, --data holds one sub-dir per task): synth (synth-pitch and synth-instrument read\n"
            "<data>/pitch, synth-key <data>/key, synth-tags <data>/tags, synth-tempo <data>/beat: the outputs of\n"
            "'mert synth pitch|key|tags|beat'), synth-frame (synth-beat <data>/beat, synth-chords <data>/chords,\n"
            "synth-stems <data>/stems), marble (every real task: <data>/nsynth, gtzan, giantsteps, mtt, emo,\n"
            "vocalset, mtg-jamendo, musdb18).");
  args.option("task", "", "the task, or a comma list of tasks (then --data holds the sub-dirs a suite reads)");
  args.option("suite", "", "run a suite of tasks: synth, synth-frame or marble; writes summary.md / summary.json");
  args.option("data", "d", "the dataset dir (for a suite: the dir holding one sub-dir per task)");
  args.option("model", "m", std::string("model dir (Hugging Face layout) whose hidden states are probed (default, "
                               "without --features: the shipped ") + kDefaultModelName + ")");
  args.option("features", "", "hand-crafted baseline instead of a model: mfcc, logmel, cqt or chroma (mean and std over time)");
  args.option("out", "o", "output dir (required)");
  args.option("cache", "", "feature cache dir, shareable between runs (default <out>/cache)");
  args.option("dtype", "", "model compute dtype for caching: fp32, bf16 or int8", "fp32");
  args.option("lrs", "", "learning rates, comma list (default: 5e-5,1e-4,5e-4,1e-3,5e-3,1e-2; frame-level tasks 1e-4,1e-3,1e-2)");
  args.option("layers", "", "'all' (every hidden state + wsum) or a comma list of indices and 'wsum'", "all");
  args.flag("quick", "everyday mode: --lrs 1e-3,5e-3 --layers wsum (unless given)");
  args.option("seed", "", "seed of head initialisation, dropout and batch order", "1234");
  args.option("epochs", "", "maximum epochs (0 = the task's setting: 50 NSynth, else 100)", "0");
  args.option("batch", "", "items per training batch (each expanded into its chunks)", "64");
  args.option("hidden", "", "width of the head's hidden layer (MARBLE: 512; source separation: its LSTM width)", "512");
  args.option("segments", "", "source separation: random 6 s training segments per track and epoch (0 = the task's: 64, MARBLE's)", "0");
  args.option("embed-batch", "", "chunks per forward pass while caching features", "1");
  args.option("jobs", "j", "hand features: files computed in parallel", "2");
  args.option("threads", "t", "threads (0 = one per core): intra-op threads while caching; heads trained at once in the sweep, one thread each (a head's numbers do not depend on it)", "0");
  args.flag("skip-failed", "leave out items whose audio cannot be decoded (default: stop and name them)");
  args.flag("overwrite", "recompute cached features and sweep points");
  args.flag("verbose", "a line per cached file and per sweep point");
  if (!args.parse(argc, argv)) return 0;

  probe::ProbeOptions o;
  o.data_dir = args.get("data");
  o.out_dir = args.get("out");
  o.cache_dir = args.get("cache");
  o.features.model_dir = args.get("model");
  if (!args.has("model") && !args.has("features")) o.features.model_dir = default_model_dir();
  o.features.hand = args.get("features");
  o.features.dtype = args.get("dtype");
  o.features.embed_batch = args.get_int("embed-batch");
  o.features.jobs = args.get_int("jobs");
  const bool quick = args.flag_set("quick");
  if (args.has("lrs")) o.lrs = parse_lrs(args.get("lrs"));
  else if (quick) o.lrs = parse_lrs("1e-3,5e-3");  // else empty: the task's default
  o.layers = parse_probe_layers(quick && !args.given("layers") ? "wsum" : args.get("layers"));
  o.seed = static_cast<uint64_t>(std::stoull(args.get("seed")));
  o.max_epochs = args.get_int("epochs");
  o.batch_files = args.get_int("batch");
  o.hidden = args.get_int("hidden");
  o.segments_per_track = args.get_int("segments");
  o.skip_failed = args.flag_set("skip-failed");
  o.overwrite = args.flag_set("overwrite");

  std::vector<std::string> tasks;
  if (args.has("suite")) {
    if (args.has("task")) throw Error("give --task or --suite, not both");
    tasks = probe::suite_tasks(args.get("suite"));
  } else if (args.has("task")) {
    tasks = split_commas(args.get("task"), "--task");
    for (const auto& t : tasks) probe::find_task(t);  // unknown names fail before any work
  } else {
    throw Error("missing --task <task> or --suite synth|marble (see 'mert probe --help' for the tasks)");
  }
  o.task = tasks.front();
  o.validate();

  const int threads = set_threads(args.get_int("threads"));
  o.sweep_jobs = threads;
  std::cerr << system_info_line() << "\n";
  ProbeProgress progress(args.flag_set("verbose"));
  if (tasks.size() == 1 && !args.has("suite")) {
    const auto r = probe::run_probe(o, progress);
    std::printf("%s: test", r.task.c_str());
    for (const auto& kv : r.chosen.test) std::printf(" %s=%.6f", kv.first.c_str(), kv.second);
    std::printf(" | lr %g layer %s | score %.2f | %s\n", r.chosen.lr,
                r.chosen.layer == probe::kWeightedSum ? "wsum" : std::to_string(r.chosen.layer).c_str(), r.score,
                r.results_json_path.c_str());
  } else {
    const auto reports = probe::run_suite(tasks, o, progress);
    double sum = 0;
    for (const auto& r : reports) {
      std::printf("%-18s score %6.2f | lr %g layer %s\n", r.task.c_str(), r.score, r.chosen.lr,
                  r.chosen.layer == probe::kWeightedSum ? "wsum" : std::to_string(r.chosen.layer).c_str());
      sum += r.score;
    }
    std::printf("average            score %6.2f | %s/summary.md\n", sum / static_cast<double>(reports.size()),
                o.out_dir.c_str());
  }
  std::fprintf(stderr, "threads %d | peak RSS %.0f MiB\n", threads, peak_rss_mib());
  return 0;
}

}  // namespace mert::cli
