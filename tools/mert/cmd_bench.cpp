// `mert bench`: inference speed sweeps in the spirit of llama-bench. Every configuration runs in
// its own forked process, so each row's peak RSS is that configuration's own (and no thread
// pool is shared between rows); the parent never touches libtorch before forking.
#include <sys/resource.h>
#include <sys/wait.h>
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "args.h"
#include "commands.h"
#include "io/atomic_file.h"
#include "mert/audio.h"
#include "mert/error.h"
#include "model/batched_matmul.h"
#include "model/dense.h"
#include "model/model_dir.h"
#include "model/presets.h"
#include "util/blas_kernels.h"
#include "util/system_info.h"

namespace mert::cli {

namespace {

using Json = nlohmann::ordered_json;

struct Config {
  int threads;
  double sec;
  std::string dtype;
  int batch;
};

struct Source {
  std::string model_dir, preset;
  uint64_t seed = 0;
};

MertModel bench_model(const Source& src, const std::string& dtype, bool& do_normalize, std::string& label) {
  if (!src.model_dir.empty()) {
    LoadedModel m = load_model_dir(src.model_dir, dtype);
    do_normalize = m.preprocessor.do_normalize;
    label = src.model_dir;
    return m.model;
  }
  ModelConfig cfg = preset_config(src.preset);
  MertModel model = make_model_in_dtype(cfg, dtype);
  init_weights(*model, src.seed);
  finish_compute_dtype(*model, dtype);
  model->eval();
  do_normalize = true;
  label = src.preset + " (random weights)";
  return model;
}

// Music-like input: the generated test music, a different clip per batch item.
at::Tensor make_input(const Config& c, bool do_normalize) {
  const int64_t S = static_cast<int64_t>(c.sec * 24000);
  auto x = torch::empty({c.batch, S});
  for (int b = 0; b < c.batch; ++b) {
    std::vector<float> w = generate_test_music(c.sec, 24000, 1000 + b);
    w.resize(static_cast<size_t>(S), 0.0f);
    if (do_normalize) normalize_waveform(w);
    x[b].copy_(torch::from_blob(w.data(), {S}, torch::kFloat));
  }
  return x;
}

// Smallest, over hidden states, of the mean over frames of cos(ours, fp32 reference).
double min_layer_cosine(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& ref) {
  double worst = 1.0;
  for (size_t l = 0; l < a.size(); ++l) {
    auto x = a[l].to(torch::kDouble), y = ref[l].to(torch::kDouble);
    auto cos = (x * y).sum(-1) / (x.norm(2, -1) * y.norm(2, -1)).clamp_min(1e-30);
    worst = std::min(worst, cos.mean().item<double>());
  }
  return worst;
}

Json run_config(const Config& c, const Source& src, int reps, int warmup) {
  torch::NoGradGuard no_grad;
  const int threads = set_threads(c.threads);
  bool do_normalize = true;
  std::string label;
  const auto t_load = std::chrono::steady_clock::now();
  MertModel model = bench_model(src, c.dtype, do_normalize, label);
  const double load_sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count();
  const at::Tensor input = make_input(c, do_normalize);
  ModelOutput out;
  for (int i = 0; i < warmup; ++i) out = model->forward(input);
  std::vector<double> rtf;
  // MERT_PROFILE=<file> records every aten op of the timed passes as a Chrome trace
  // (bench/profile_summary.py sums it per op): the tool for finding where time goes.
  std::unique_ptr<torch::autograd::profiler::RecordProfile> profile;
  if (const char* path = std::getenv("MERT_PROFILE"))
    profile = std::make_unique<torch::autograd::profiler::RecordProfile>(
        std::string(path) + "." + c.dtype + ".json");
  struct rusage usage_before {};
  getrusage(RUSAGE_SELF, &usage_before);
  for (int i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    out = model->forward(input);
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rtf.push_back(dt / (c.sec * c.batch));
  }
  profile.reset();
  struct rusage usage_after {};
  getrusage(RUSAGE_SELF, &usage_after);  // page faults of the timed passes: allocator behaviour
  const double faults_per_pass = static_cast<double>(usage_after.ru_minflt - usage_before.ru_minflt) / reps;
  const double rss = peak_rss_mib();  // before the fp32 reference below adds its own
  const int64_t frames = out.hidden_states.back().size(1) * c.batch;
  std::vector<at::Tensor> ours;
  for (auto& h : out.hidden_states) ours.push_back(h.to(torch::kFloat));
  out = {};
  double cosine = 1.0;
  if (model->dtype() != torch::kFloat) {
    model = nullptr;
    MertModel ref = bench_model(src, "fp32", do_normalize, label);
    cosine = min_layer_cosine(ours, ref->forward(input).hidden_states);
  }
  std::vector<double> sorted = rtf;
  std::sort(sorted.begin(), sorted.end());
  const double median = sorted[sorted.size() / 2];
  Json row;
  row["commit"] = git_commit();
  row["cpu"] = cpu_model();
  row["isa"] = cpu_isa();
  row["model"] = label;
  row["threads"] = threads;
  row["dtype"] = c.dtype;
  row["sec"] = c.sec;
  row["batch"] = c.batch;
  row["kernels"] = std::string(at::hasMKLDNN() ? "oneDNN conv" : "native conv") +
                   (c.dtype == "bf16"   ? " + oneDNN bf16 matmul"
                    : c.dtype == "int8" ? " + oneDNN bf16 matmul + " + mert::int8_kernel_name() + " Linear"
                                        : " + " + blas_library() + " " + blas_core() + " sgemm (attention: " +
                                              mert::batched_matmul_kernel_name() + ")");
  row["rtf_median"] = median;
  row["rtf_min"] = sorted.front();
  row["rtf_max"] = sorted.back();
  row["x_realtime"] = 1.0 / median;
  row["frames_per_sec"] = static_cast<double>(frames) / (median * c.sec * c.batch);
  row["peak_rss_mib"] = rss;
  row["load_sec"] = load_sec;
  row["min_layer_cosine_vs_fp32"] = cosine;
  row["minor_faults_per_pass"] = faults_per_pass;
  row["reps"] = reps;
  return row;
}

// Runs one configuration in a child process; its JSON row comes back through a pipe.
Json run_forked(const Config& c, const Source& src, int reps, int warmup) {
  int fd[2];
  if (pipe(fd) != 0) throw Error("pipe failed");
  const pid_t pid = fork();
  if (pid < 0) throw Error("fork failed");
  if (pid == 0) {
    close(fd[0]);
    std::string text;
    int code = 0;
    try {
      text = run_config(c, src, reps, warmup).dump();
    } catch (const std::exception& e) {
      text = Json{{"error", e.what()}}.dump();
      code = 1;
    }
    size_t off = 0;
    while (off < text.size()) {
      const ssize_t n = write(fd[1], text.data() + off, text.size() - off);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    close(fd[1]);
    _exit(code);
  }
  close(fd[1]);
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = read(fd[0], buf, sizeof buf)) > 0;) text.append(buf, static_cast<size_t>(n));
  close(fd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (text.empty()) throw Error("benchmark child died (signal or out of memory) for dtype " + c.dtype);
  Json row = Json::parse(text);
  if (row.contains("error")) throw Error(row["error"].get<std::string>());
  return row;
}

std::string fmt(double v, int prec) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", prec, v);
  return b;
}

std::string markdown(const std::vector<Json>& rows) {
  std::ostringstream os;
  os << "| commit | CPU | ISA | threads | dtype | sec | batch | kernels | RTF median (min–max) | × real time | frames/s | peak RSS MiB | min layer cosine vs fp32 |\n"
     << "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : rows)
    os << "| " << r["commit"].get<std::string>() << " | " << r["cpu"].get<std::string>() << " | "
       << r["isa"].get<std::string>() << " | " << r["threads"].get<int>() << " | " << r["dtype"].get<std::string>()
       << " | " << fmt(r["sec"].get<double>(), 1) << " | " << r["batch"].get<int>() << " | "
       << r["kernels"].get<std::string>() << " | " << fmt(r["rtf_median"].get<double>(), 4) << " ("
       << fmt(r["rtf_min"].get<double>(), 4) << "–" << fmt(r["rtf_max"].get<double>(), 4) << ") | "
       << fmt(r["x_realtime"].get<double>(), 1) << " | " << fmt(r["frames_per_sec"].get<double>(), 0) << " | "
       << fmt(r["peak_rss_mib"].get<double>(), 0) << " | " << fmt(r["min_layer_cosine_vs_fp32"].get<double>(), 6)
       << " |\n";
  return os.str();
}

std::string csv(const std::vector<Json>& rows) {
  std::ostringstream os;
  bool header = false;
  for (const auto& r : rows) {
    if (!header) {
      bool first = true;
      for (auto it = r.begin(); it != r.end(); ++it) os << (first ? "" : ",") << it.key(), first = false;
      os << "\n";
      header = true;
    }
    bool first = true;
    for (auto it = r.begin(); it != r.end(); ++it) {
      os << (first ? "" : ",");
      first = false;
      if (it->is_string()) os << '"' << it->get<std::string>() << '"';
      else os << it->dump();
    }
    os << "\n";
  }
  return os.str();
}

}  // namespace

int cmd_bench(int argc, char** argv) {
  Args args("bench", "[-m <model dir> | --preset v1-95m] [--threads 1,2] [--sec 5,30] [--dtype fp32,bf16] [--batch 1,4] [options]",
            "Measures inference speed over every combination of the comma-separated sweeps. Each\n"
            "configuration runs in a fresh process: warm-up, then --reps timed forward passes on\n"
            "generated music; rows report the median real-time factor (compute time / audio time)\n"
            "with min–max, frames/s, that process's peak RSS (including loading), and for non-fp32\n"
            "dtypes the smallest per-layer mean cosine similarity of the hidden states against an\n"
            "fp32 run of the same weights on the same input.");
  args.option("model", "m", "model dir (default: --preset with random weights)");
  args.option("preset", "", "architecture when no model dir is given: " + preset_names(), "v1-95m");
  args.option("threads", "t", "thread counts, comma-separated", "2");
  args.option("sec", "s", "clip lengths in seconds, comma-separated", "5");
  args.option("dtype", "d", "compute dtypes: fp32, bf16, int8 (bf16 with int8 Linear layers and, with VNNI, conv front end)", "fp32,bf16");
  args.option("batch", "b", "clips per forward pass, comma-separated", "1");
  args.option("reps", "r", "timed repetitions per configuration", "5");
  args.option("warmup", "", "untimed passes first", "1");
  args.option("format", "f", "md, csv or json (one object per line)", "md");
  args.option("output", "o", "also write the table to this file");
  args.option("seed", "", "random-weight seed for --preset", "0");
  if (!args.parse(argc, argv)) return 0;
  Source src;
  if (args.has("model")) src.model_dir = args.get("model");
  else src.preset = args.get("preset");
  src.seed = static_cast<uint64_t>(args.get_int("seed"));
  if (!src.preset.empty()) preset_config(src.preset);  // validate the name before forking
  const int reps = args.get_int("reps"), warmup = args.get_int("warmup");
  if (reps < 1 || warmup < 0) throw Error("--reps must be >= 1 and --warmup >= 0");
  const std::string format = args.get("format");
  if (format != "md" && format != "csv" && format != "json") throw Error("--format must be md, csv or json");

  std::vector<Config> configs;
  for (const auto& d : split_commas(args.get("dtype"), "--dtype")) {
    parse_compute_dtype(d);
    for (const auto& t : split_commas(args.get("threads"), "--threads"))
      for (const auto& s : split_commas(args.get("sec"), "--sec"))
        for (const auto& b : split_commas(args.get("batch"), "--batch")) {
          Config c{};
          try {
            c = Config{std::stoi(t), std::stod(s), d, std::stoi(b)};
          } catch (const std::logic_error&) {
            throw Error("--threads, --sec and --batch take numbers, got '" + t + "', '" + s + "', '" + b + "'");
          }
          if (c.threads < 1 || c.sec < 0.1 || c.batch < 1) throw Error("threads, batch >= 1 and sec >= 0.1 required");
          configs.push_back(c);
        }
  }
  std::cerr << build_info() << " | " << configs.size() << " configurations x " << reps << " reps\n";
  std::vector<Json> rows;
  for (const auto& c : configs) {
    Json row = run_forked(c, src, reps, warmup);
    std::fprintf(stderr, "  %s threads=%d sec=%g batch=%d: RTF %.4f (%.1fx real time), peak %.0f MiB, cosine %.6f, "
                 "%.0f page faults per pass\n",
                 c.dtype.c_str(), c.threads, c.sec, c.batch, row["rtf_median"].get<double>(),
                 row["x_realtime"].get<double>(), row["peak_rss_mib"].get<double>(),
                 row["min_layer_cosine_vs_fp32"].get<double>(), row["minor_faults_per_pass"].get<double>());
    if (format == "json") std::cout << row.dump() << std::endl;
    rows.push_back(std::move(row));
  }
  std::string table;
  if (format == "md") table = markdown(rows);
  else if (format == "csv") table = csv(rows);
  else for (const auto& r : rows) table += r.dump() + "\n";
  if (format != "json") std::cout << table;
  if (args.has("output")) {
    const std::string path = args.get("output");
    io::write_file_atomic(path, [&](std::FILE* f) { io::write_all(f, table.data(), table.size(), path); });
  }
  return 0;
}

}  // namespace mert::cli
