// The pre-training loop: batches -> masks -> mixup -> model + heads -> loss -> gradients summed
// over workers -> clip -> AdamW; logging, validation and checkpoints.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/nn/module.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <mutex>
#include <optional>
#include <sys/resource.h>

#include "io/atomic_file.h"
#include "io/run_dir.h"
#include "mert/error.h"
#include "model/model.h"
#include "mert/pretrain.h"
#include "train/adamw.h"
#include "train/autocast.h"
#include "train/checkpoint.h"
#include "train/distributed.h"
#include "train/masking.h"
#include "train/mixup.h"
#include "train/pretrain_data.h"
#include "train/pretrain_heads.h"
#include "train/train_log.h"
#include "train/train_rng.h"

namespace mert {
namespace fs = std::filesystem;
using nlohmann::json;
using namespace mert::train;

namespace {

std::atomic<int> g_stop_signal{0};
extern "C" void on_stop_signal(int sig) { g_stop_signal = sig; }

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

double peak_rss_mib() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024.0;
}

struct StepStats {
  // Summed over micro-batches and workers.
  double n_masked = 0, sum_loss = 0, features_pen_x_n = 0, cqt_x_n = 0, audio_seconds = 0, nonfinite = 0;
  std::vector<double> ce, correct;
  explicit StepStats(size_t k) : ce(k, 0.0), correct(k, 0.0) {}
  at::Tensor pack(double stop_flag) const {
    std::vector<double> v{n_masked, sum_loss, features_pen_x_n, cqt_x_n, audio_seconds, nonfinite, stop_flag};
    v.insert(v.end(), ce.begin(), ce.end());
    v.insert(v.end(), correct.begin(), correct.end());
    return at::tensor(v, at::kDouble);
  }
  double unpack(const at::Tensor& t) {  // returns the summed stop flag
    auto a = t.accessor<double, 1>();
    n_masked = a[0], sum_loss = a[1], features_pen_x_n = a[2], cqt_x_n = a[3], audio_seconds = a[4], nonfinite = a[5];
    for (size_t c = 0; c < ce.size(); ++c) ce[c] = a[7 + c], correct[c] = a[7 + ce.size() + c];
    return a[6];
  }
  // Returns whether the batch's loss is finite (worth a backward pass).
  bool add(const LossTerms& t) {
    const double n = static_cast<double>(t.n_masked);
    n_masked += n;
    const double loss = t.sum_loss.item<double>();
    const bool finite = std::isfinite(loss);
    if (!finite) nonfinite += 1;
    sum_loss += loss;
    features_pen_x_n += t.features_pen * n;
    cqt_x_n += t.cqt_mse * n;
    for (size_t c = 0; c < ce.size(); ++c) ce[c] += t.ce_sum[c], correct[c] += static_cast<double>(t.correct[c]);
    return finite;
  }
};

json stats_json(const StepStats& s, const std::vector<std::string>& names) {
  const double n = std::max(1.0, s.n_masked);
  json j;
  j["loss"] = s.sum_loss / n;
  json ce, acc;
  for (size_t c = 0; c < names.size(); ++c) {
    ce[names[c]] = s.ce[c] / n;
    acc[names[c]] = s.correct[c] / n;
  }
  j["ce"] = ce;
  j["accuracy"] = acc;
  j["features_pen"] = s.features_pen_x_n / n;
  j["cqt_mse"] = s.cqt_x_n / n;
  j["masked_frames"] = s.n_masked;
  return j;
}

class Trainer {
 public:
  Trainer(const PretrainConfig& cfg, const PretrainRunOptions& o) : cfg_(cfg), o_(o) {}
  int run();

 private:
  void open_data();
  void build_model();
  void resume_or_start();
  // One update; returns true if the workers agreed to stop (a signal) after it.
  bool train_update(int64_t update);
  json validate();
  void save(int64_t updates_done);
  void say(const std::string& line) const {
    if (comm_->rank() == 0) std::fprintf(stderr, "%s\n", line.c_str());
  }

  PretrainConfig cfg_;
  PretrainRunOptions o_;
  std::unique_ptr<Communicator> comm_;
  std::optional<Corpus> train_, valid_;
  BatchOptions batch_opts_;
  MaskOptions mask_opts_;
  MixupOptions mixup_opts_;
  LossWeights weights_;
  MertModel model_{nullptr};
  PretrainHeads heads_{nullptr};
  std::vector<at::Tensor> params_;
  std::unique_ptr<AdamW> opt_;
  std::optional<CheckpointState> resumed_;
  std::unique_ptr<TrainLog> log_;
  std::unique_ptr<BatchPrefetcher> prefetch_;
  int64_t start_update_ = 0, skipped_ = 0;
  double audio_seconds_ = 0;
  int threads_ = 0;
};

void Trainer::open_data() {
  CorpusOptions co;
  co.label_dir = o_.label_dir;
  co.label_names = o_.label_names;
  co.sample_rate = cfg_.model.sample_rate;
  co.conv_kernel = cfg_.model.conv_kernel;
  co.conv_stride = cfg_.model.conv_stride;
  co.min_samples = cfg_.min_samples;
  co.manifest = (fs::path(o_.manifest_dir) / "train.tsv").string();
  if (!fs::exists(co.manifest)) throw Error("no train.tsv in the manifest dir " + o_.manifest_dir);
  train_ = Corpus::open(co);
  if (train_->skipped_short > 0)
    say("note: " + std::to_string(train_->skipped_short) + " clips shorter than min_samples (" +
        std::to_string(cfg_.min_samples) + ") are not trained on");
  co.manifest = (fs::path(o_.manifest_dir) / "valid.tsv").string();
  bool valid_labels = true;
  for (const auto& n : o_.label_names)
    valid_labels = valid_labels && fs::exists(fs::path(o_.label_dir) / ("valid." + n));
  if (cfg_.valid_every > 0 && fs::exists(co.manifest) && valid_labels) {
    valid_ = Corpus::open(co);
    if (valid_->vocab_sizes != train_->vocab_sizes) throw Error("valid and train label dictionaries differ in size");
  } else if (cfg_.valid_every > 0) {
    say("note: no held-out evaluation (needs valid.tsv in the manifest dir and valid.<name> labels)");
  }

  batch_opts_.batch_size = cfg_.batch_size;
  batch_opts_.crop_samples = cfg_.crop_samples;
  batch_opts_.hop = cfg_.model.total_stride();
  batch_opts_.seed = cfg_.seed;
  batch_opts_.cqt_target = cfg_.cqt_loss;
  batch_opts_.cqt_log_gain = cfg_.cqt_log_gain;
  batch_opts_.cqt.sample_rate = static_cast<double>(cfg_.model.sample_rate);
  batch_opts_.cqt.hop = cfg_.model.total_stride();
  batch_opts_.cqt.n_bins = cfg_.cqt_bins;
  mask_opts_.prob = cfg_.mask_prob;
  mask_opts_.length = cfg_.mask_length;
  mask_opts_.min_masks = cfg_.mask_min_masks;
  mixup_opts_.prob = cfg_.mixup_prob;
  mixup_opts_.min_len = cfg_.mixup_min_len;
  mixup_opts_.max_len = cfg_.mixup_max_len;
  mixup_opts_.max_segments = cfg_.mixup_max_segments;
  weights_.features_pen = cfg_.loss_weights[0];
  weights_.cqt = cfg_.loss_weights[1];
  weights_.cqt_all_frames = cfg_.cqt_all_frames;
}

void Trainer::build_model() {
  model_ = MertModel(cfg_.model);
  init_weights(*model_, cfg_.seed);
  HeadsConfig hc;
  hc.hidden = cfg_.model.hidden_size;
  hc.final_dim = cfg_.final_dim;
  hc.vocab_sizes = train_->vocab_sizes;
  hc.cqt_bins = cfg_.cqt_loss ? cfg_.cqt_bins : 0;
  heads_ = PretrainHeads(hc);
  heads_->reset(cfg_.seed + 1);
  std::vector<std::pair<std::string, at::Tensor>> named;
  for (const auto& item : model_->named_parameters(true)) named.emplace_back("model." + item.key(), item.value());
  for (const auto& item : heads_->named_parameters(true)) named.emplace_back("heads." + item.key(), item.value());
  for (auto& [name, p] : named) {
    p.mutable_grad() = at::zeros_like(p);  // every worker reduces the same set, even if LayerDrop skipped a layer
    params_.push_back(p);
  }
  AdamWOptions ao;
  ao.beta1 = cfg_.adam_beta1;
  ao.beta2 = cfg_.adam_beta2;
  ao.eps = cfg_.adam_eps;
  ao.weight_decay = cfg_.weight_decay;
  opt_ = std::make_unique<AdamW>(std::move(named), ao);
}

void Trainer::resume_or_start() {
  const std::string ck = checkpoint_path(o_.out_dir);
  const fs::path run(o_.out_dir);
  if (comm_->rank() == 0) {
    // A process killed while writing leaves <name>.tmp.<pid> behind (never a partial file under
    // the final name); one run dir has one writer, so none of them is live.
    io::remove_stale_temps(ck);
    io::remove_stale_temps((run / "log.jsonl").string());
    io::remove_stale_temps((run / "config.json").string());
  }
  // Every worker must take the same branch: a worker that cannot see the checkpoint (no shared
  // run dir) would start over while the others continue.
  std::vector<at::Tensor> seen{at::full({1}, fs::exists(ck) ? 1.0 : 0.0, at::kDouble)};
  comm_->all_reduce_sum(seen);
  const double n_seen = seen[0].item<double>();
  if (n_seen != 0 && n_seen != comm_->world_size())
    throw Error(ck + " is visible to " + std::to_string(static_cast<int>(n_seen)) + " of " +
                std::to_string(comm_->world_size()) + " workers; every worker needs the same run dir (a shared filesystem)");
  const bool have_checkpoint = n_seen > 0;
  if (!o_.resume && have_checkpoint)
    throw Error(o_.out_dir + " already holds a run (" + ck + "): pass --resume to continue it, or choose another --out");
  if (!have_checkpoint) {
    // Nothing to continue: --resume starts the run (what a job that always restarts with
    // --resume needs). config.json and log.jsonl of an attempt killed before its first
    // checkpoint are rewritten: the run starts from update 0 as if they never existed.
    if (o_.resume)
      say("no checkpoint in " + o_.out_dir + " yet: starting the run from update 0" +
          (fs::exists(run / "log.jsonl") ? " (the log of an earlier attempt is dropped)" : ""));
    if (comm_->rank() == 0) {
      fs::create_directories(o_.out_dir);
      const std::string text = cfg_.to_json_string();
      io::write_file_atomic((run / "config.json").string(),
                            [&](std::FILE* f) { io::write_all(f, text.data(), text.size(), "config.json"); });
      log_ = std::make_unique<TrainLog>((run / "log.jsonl").string(), -1);
    }
    return;
  }
  resumed_ = load_checkpoint(ck);
  const CheckpointState& s = *resumed_;
  const auto diff = cfg_.differences(PretrainConfig::from_json_string(s.config_json, ck));
  if (!diff.empty()) {
    std::string keys;
    for (const auto& k : diff) keys += (keys.empty() ? "" : ", ") + k;
    throw Error("--resume: the settings differ from the checkpoint's in: " + keys +
                " (only --steps may change when resuming)");
  }
  if (s.world_size != comm_->world_size())
    throw Error("--resume: the checkpoint was written by " + std::to_string(s.world_size) + " worker(s), this run has " +
                std::to_string(comm_->world_size()) + "; the batches would be split differently");
  if (s.label_names != o_.label_names || s.vocab_sizes != train_->vocab_sizes)
    throw Error("--resume: the label streams or their dictionary sizes differ from the checkpoint's");
  if (s.threads != threads_)
    say("warning: the checkpoint ran with " + std::to_string(s.threads) + " threads, this run with " +
        std::to_string(threads_) + "; the continuation is not bitwise identical to an uninterrupted run");
  load_weights_into(*model_, s.model, ck);
  {
    at::NoGradGuard no_grad;
    for (const auto& item : heads_->named_parameters(true)) {
      auto it = s.heads.find(item.key());
      if (it == s.heads.end() || it->second.sizes() != item.value().sizes())
        throw Error(ck + ": head tensor '" + item.key() + "' is missing or has the wrong shape");
      item.value().copy_(it->second);
    }
  }
  opt_->restore(s.optimizer, s.update, ck);
  start_update_ = s.update;
  skipped_ = s.skipped_updates;
  audio_seconds_ = s.audio_seconds;
  if (comm_->rank() == 0)
    log_ = std::make_unique<TrainLog>((fs::path(o_.out_dir) / "log.jsonl").string(), s.update);
  say("resumed " + o_.out_dir + " at update " + std::to_string(s.update));
}

void Trainer::save(int64_t updates_done) {
  if (comm_->rank() == 0) {
    CheckpointState s;
    s.update = updates_done;
    s.skipped_updates = skipped_;
    s.audio_seconds = audio_seconds_;
    s.world_size = comm_->world_size();
    s.threads = threads_;
    s.config_json = cfg_.to_json_string();
    s.label_names = o_.label_names;
    s.vocab_sizes = train_->vocab_sizes;
    for (const auto& item : model_->named_parameters(true)) s.model[item.key()] = item.value().detach();
    for (const auto& item : heads_->named_parameters(true)) s.heads[item.key()] = item.value().detach();
    s.optimizer = opt_->state();
    save_checkpoint(checkpoint_path(o_.out_dir), s);
    if (cfg_.keep_every > 0 && updates_done % cfg_.keep_every == 0) keep_checkpoint(o_.out_dir, updates_done);
  }
  comm_->barrier();
}

bool Trainer::train_update(int64_t update) {
  const auto t_start = Clock::now();
  const size_t K = o_.label_names.size();
  StepStats st(K);
  double ms_data = 0, ms_fwd = 0, ms_bwd = 0;
  for (auto& p : params_) p.mutable_grad().zero_();
  // Dropout and LayerDrop draw from the default generator, reseeded per (worker, update) so that
  // a resumed run draws what the uninterrupted run drew without storing generator state.
  {
    KeyedRng r(cfg_.seed, RngPurpose::Dropout, static_cast<uint64_t>(update), static_cast<uint64_t>(comm_->rank()));
    at::Generator gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_current_seed(r.next());
  }
  for (int64_t micro = 0; micro < cfg_.update_freq; ++micro) {
    const uint64_t data_step = static_cast<uint64_t>(update * cfg_.update_freq + micro);
    auto t0 = Clock::now();
    Batch b = prefetch_->next();
    if (b.step != static_cast<int64_t>(data_step)) throw Error("internal: batch order lost");
    at::Tensor mask = compute_span_mask(b.global_rows, b.frames, cfg_.seed, data_step, mask_opts_)
                          .narrow(0, b.first_row, b.wave.size(0));
    // Mixup changes only the input: labels and the CQT target were made from the clean crop.
    if (cfg_.mixup_prob > 0) inbatch_noise_mixup(b.wave, b.first_row, cfg_.seed, data_step, mixup_opts_);
    st.audio_seconds += b.audio_seconds();
    ms_data += ms_since(t0);
    t0 = Clock::now();
    LossTerms terms;
    {
      CpuAutocast autocast(cfg_.dtype == "bf16");
      PretrainForward out = model_->forward_pretrain(b.wave, mask, cfg_.feature_grad_mult);
      terms = pretrain_loss(*heads_, out.hidden, mask, b.labels, b.cqt, out.features_pen, weights_, cfg_.logit_temp);
    }
    ms_fwd += ms_since(t0);
    t0 = Clock::now();
    if (st.add(terms)) terms.sum_loss.backward();
    ms_bwd += ms_since(t0);
  }

  // Sum gradients and statistics over workers, then normalise by the masked frames of all of
  // them (fairseq's sample_size), so N workers with B/N clips each equal one with B.
  auto t0 = Clock::now();
  std::vector<at::Tensor> grads;
  for (auto& p : params_) grads.push_back(p.mutable_grad());
  comm_->all_reduce_sum(grads);
  std::vector<at::Tensor> packed{st.pack(g_stop_signal != 0 ? 1.0 : 0.0)};
  comm_->all_reduce_sum(packed);
  const bool stop = st.unpack(packed[0]) > 0;
  const double ms_comm = ms_since(t0);

  t0 = Clock::now();
  double grad_norm = 0;
  bool skip = st.nonfinite > 0 || st.n_masked <= 0;
  if (!skip) {
    at::NoGradGuard no_grad;
    for (auto& g : grads) g.div_(st.n_masked);
    double sq = 0;
    for (auto& g : grads) {  // per-tensor norms in float, summed in double (no float64 copy of the gradients)
      const double n = g.norm().item<double>();
      sq += n * n;
    }
    grad_norm = std::sqrt(sq);
    if (!std::isfinite(grad_norm)) skip = true;
    else if (cfg_.clip_norm > 0 && grad_norm > cfg_.clip_norm)
      for (auto& g : grads) g.mul_(cfg_.clip_norm / (grad_norm + 1e-6));
  }
  const double lr = cfg_.lr_at(update);
  if (skip) {
    ++skipped_;
    say("update " + std::to_string(update + 1) + ": non-finite loss or gradient, update skipped (" +
        std::to_string(skipped_) + " so far)");
  } else {
    opt_->step(lr);
  }
  const double ms_opt = ms_since(t0);
  audio_seconds_ += st.audio_seconds;
  const double ms_total = ms_since(t_start);

  const int64_t done = update + 1;
  if (comm_->rank() == 0 && (done % cfg_.log_every == 0 || done == cfg_.max_steps || skip || done == start_update_ + 1)) {
    json r = stats_json(st, o_.label_names);
    r["update"] = done;
    r["lr"] = lr;
    r["grad_norm"] = grad_norm;
    r["skipped"] = skip;
    r["audio_sec_per_sec"] = st.audio_seconds / (ms_total / 1000.0);
    r["ms"] = {{"data", ms_data}, {"forward", ms_fwd}, {"backward", ms_bwd}, {"comm", ms_comm}, {"optim", ms_opt},
               {"total", ms_total}};
    log_->write(r.dump());
    char line[512];
    std::string accs;
    for (const auto& n : o_.label_names) {
      char a[64];
      std::snprintf(a, sizeof a, " %s %.3f", n.c_str(), r["accuracy"][n].get<double>());
      accs += a;
    }
    std::snprintf(line, sizeof line,
                  "update %lld/%lld | loss %.4f (pen %.4f cqt %.4f) | acc%s | lr %.3g | gnorm %.3g | %.1f audio-s/s | "
                  "%.0f ms (data %.0f fwd %.0f bwd %.0f comm %.0f opt %.0f)",
                  static_cast<long long>(done), static_cast<long long>(cfg_.max_steps), r["loss"].get<double>(),
                  r["features_pen"].get<double>(), r["cqt_mse"].get<double>(), accs.c_str(), lr, grad_norm,
                  r["audio_sec_per_sec"].get<double>(), ms_total, ms_data, ms_fwd, ms_bwd, ms_comm, ms_opt);
    say(line);
  }
  return stop;
}

json Trainer::validate() {
  const size_t K = o_.label_names.size();
  StepStats st(K);
  BatchOptions vo = batch_opts_;
  vo.shuffle = false;
  vo.bucket_batches = 0;
  vo.seed = cfg_.seed + 7;  // the held-out crops and masks are the same at every evaluation
  model_->eval();
  heads_->eval();
  {
    at::NoGradGuard no_grad;
    for (int64_t i = 0; i < cfg_.valid_batches; ++i) {
      Batch b = load_batch(*valid_, vo, i, comm_->rank(), comm_->world_size());
      at::Tensor mask = compute_span_mask(b.global_rows, b.frames, vo.seed, static_cast<uint64_t>(i), mask_opts_)
                            .narrow(0, b.first_row, b.wave.size(0));
      CpuAutocast autocast(cfg_.dtype == "bf16");
      PretrainForward out = model_->forward_pretrain(b.wave, mask, cfg_.feature_grad_mult);
      st.add(pretrain_loss(*heads_, out.hidden, mask, b.labels, b.cqt, out.features_pen, weights_, cfg_.logit_temp));
      st.audio_seconds += b.audio_seconds();
    }
  }
  model_->train();
  heads_->train();
  std::vector<at::Tensor> packed{st.pack(0)};
  comm_->all_reduce_sum(packed);
  st.unpack(packed[0]);
  json r = stats_json(st, o_.label_names);
  json chance;
  for (size_t c = 0; c < K; ++c) chance[o_.label_names[c]] = 1.0 / static_cast<double>(train_->vocab_sizes[c]);
  r["chance_uniform"] = chance;
  return r;
}

int Trainer::run() {
  const DistEnv env = DistEnv::from_environment();
  if (o_.threads > 0) at::set_num_threads(o_.threads);
  threads_ = at::get_num_threads();
  if (cfg_.batch_size % env.world_size != 0)
    throw Error("batch_size " + std::to_string(cfg_.batch_size) + " is not divisible by the " +
                std::to_string(env.world_size) + " workers");
  comm_ = make_communicator(env, std::chrono::milliseconds(static_cast<int64_t>(o_.dist_timeout_sec * 1000)));
  open_data();
  build_model();
  resume_or_start();
  say("pre-training " + cfg_.preset + ": " + cfg_.model.to_string() + "; " + std::to_string(count_parameters(*model_)) +
      " parameters + heads; " + std::to_string(train_->usable.size()) + " training clips; " +
      std::to_string(comm_->world_size()) + " worker(s) (" + comm_->backend() + ") x " + std::to_string(threads_) +
      " threads; batch " + std::to_string(cfg_.batch_size) + " x " + std::to_string(cfg_.update_freq) + "; " + cfg_.dtype);
  if (start_update_ >= cfg_.max_steps) {
    say("nothing to do: the run is at update " + std::to_string(start_update_) + " of " + std::to_string(cfg_.max_steps) +
        " (raise --steps to continue)");
    return 0;
  }
  auto prev_int = std::signal(SIGINT, on_stop_signal);
  auto prev_term = std::signal(SIGTERM, on_stop_signal);
  prefetch_ = std::make_unique<BatchPrefetcher>(*train_, batch_opts_, start_update_ * cfg_.update_freq,
                                                comm_->rank(), comm_->world_size());
  model_->train();
  heads_->train();
  const auto t_run = Clock::now();
  const double audio_before = audio_seconds_;
  int64_t update = start_update_;
  bool stopped = false;
  for (; update < cfg_.max_steps && !stopped; ++update) {
    // MERT_PROFILE=<file> traces every aten op of the third update of this run (after two
    // warm-up updates) as a Chrome trace; bench/profile_summary.py sums it per op.
    std::unique_ptr<torch::autograd::profiler::RecordProfile> profile;
    if (const char* path = std::getenv("MERT_PROFILE"); path && update == start_update_ + 2 && comm_->rank() == 0)
      profile = std::make_unique<torch::autograd::profiler::RecordProfile>(path);
    stopped = train_update(update);
    profile.reset();
    const int64_t done = update + 1;
    if (valid_ && cfg_.valid_every > 0 && (done % cfg_.valid_every == 0 || done == cfg_.max_steps)) {
      json v = validate();
      if (comm_->rank() == 0) {
        json r;
        r["update"] = done;
        r["valid"] = v;
        log_->write(r.dump());
        std::string accs;
        for (const auto& n : o_.label_names) {
          char a[96];
          std::snprintf(a, sizeof a, " %s %.3f (chance %.3f)", n.c_str(), v["accuracy"][n].get<double>(),
                        v["chance_uniform"][n].get<double>());
          accs += a;
        }
        char line[512];
        std::snprintf(line, sizeof line, "valid @ %lld | loss %.4f | masked accuracy%s", static_cast<long long>(done),
                      v["loss"].get<double>(), accs.c_str());
        say(line);
      }
    }
    if (done % cfg_.save_every == 0 || done == cfg_.max_steps || stopped) save(done);
  }
  prefetch_.reset();
  std::signal(SIGINT, prev_int);
  std::signal(SIGTERM, prev_term);
  const double wall = ms_since(t_run) / 1000.0;
  char line[400];
  std::snprintf(line, sizeof line,
                "%s at update %lld/%lld: %.2f h of audio this session in %.0f s (%.1f audio-s/s), %lld skipped updates, "
                "peak RSS %.0f MiB; checkpoint %s",
                stopped ? "stopped by signal" : "done", static_cast<long long>(update),
                static_cast<long long>(cfg_.max_steps), (audio_seconds_ - audio_before) / 3600.0, wall,
                (audio_seconds_ - audio_before) / std::max(wall, 1e-9), static_cast<long long>(skipped_), peak_rss_mib(),
                checkpoint_path(o_.out_dir).c_str());
  say(line);
  return stopped ? 128 + g_stop_signal.load() : 0;
}

}  // namespace

int run_pretrain(const PretrainConfig& cfg, const PretrainRunOptions& opts) {
  cfg.validate();
  if (opts.label_names.empty()) throw Error("no label streams: pass --label-names km0[,km1...]");
  Trainer t(cfg, opts);
  return t.run();
}

}  // namespace mert
