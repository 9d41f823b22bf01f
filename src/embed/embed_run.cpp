#include "mert/embed_run.h"

#include <torch/types.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <thread>

#include "io/atomic_file.h"
#include "mert/audio.h"
#include "mert/error.h"
#include "mert/npy.h"

namespace mert {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// A cheap, stable fingerprint of a model dir: both JSON files in full and the weight file's size
// plus 64 KiB samples at 16 evenly spaced offsets (a full hash of 1.3 GB would dominate start-up).
std::string model_fingerprint(const LoadedModel& m) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](const char* p, size_t n) {
    for (size_t i = 0; i < n; ++i) h = (h ^ static_cast<unsigned char>(p[i])) * 1099511628211ull;
  };
  for (const char* f : {"config.json", "preprocessor_config.json"}) {
    std::ifstream in(fs::path(m.dir) / f, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string s = ss.str();
    mix(s.data(), s.size());
  }
  std::ifstream w(m.weights_path, std::ios::binary);
  const auto size = fs::file_size(m.weights_path);
  mix(reinterpret_cast<const char*>(&size), sizeof(size));
  std::vector<char> buf(65536);
  for (int k = 0; k < 16; ++k) {
    w.seekg(static_cast<std::streamoff>(size / 16 * k));
    w.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    mix(buf.data(), static_cast<size_t>(w.gcount()));
    w.clear();
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

std::string failures_path(const RunOptions& o) {
  const std::string name = o.shard_count > 1 ? "failures.shard-" + std::to_string(o.shard_index) + "-of-" +
                                                   std::to_string(o.shard_count) + ".tsv"
                                             : "failures.tsv";
  return (fs::path(o.out_dir) / name).string();
}

void write_failures(const std::string& path, const std::vector<std::pair<std::string, std::string>>& failures) {
  std::string text = "path\treason\n";
  for (const auto& [p, r] : failures) {
    std::string reason = r;
    for (char& c : reason)
      if (c == '\t' || c == '\n') c = ' ';
    text += p + "\t" + reason + "\n";
  }
  io::write_file_atomic(path, [&](std::FILE* f) { io::write_all(f, text.data(), text.size(), path); });
}

// One decoded file, or the reason it could not be.
struct Decoded {
  InputItem item;
  std::string output;
  bool skipped = false;
  std::string error;
  std::vector<float> samples;
};

// Decodes ahead of the model on its own thread, at most `capacity` files in memory.
class DecodeQueue {
 public:
  DecodeQueue(const std::vector<InputItem>& items, const RunOptions& o, int64_t rate, size_t capacity)
      : items_(items), opts_(o), rate_(rate), capacity_(capacity), thread_([this] { work(); }) {}
  ~DecodeQueue() {
    {
      std::lock_guard<std::mutex> g(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  // Next item in input order; nullopt when all are done.
  std::optional<Decoded> pop() {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait(lk, [&] { return !queue_.empty() || done_; });
    if (queue_.empty()) return std::nullopt;
    Decoded d = std::move(queue_.front());
    queue_.pop_front();
    cv_.notify_all();
    return d;
  }

 private:
  void work() {
    for (const auto& item : items_) {
      Decoded d;
      d.item = item;
      d.output = output_path(opts_, item.rel_out);
      std::error_code ec;
      if (!item.error.empty()) {
        d.error = item.error;
      } else if (!opts_.overwrite && fs::exists(d.output, ec)) {
        d.skipped = true;  // outputs appear only when complete, so existing = done
      } else {
        try {
          d.samples = decode_audio(item.path, rate_).samples;
        } catch (const std::exception& e) {
          d.error = e.what();
        }
      }
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait(lk, [&] { return queue_.size() < capacity_ || stop_; });
      if (stop_) break;
      queue_.push_back(std::move(d));
      cv_.notify_all();
    }
    std::lock_guard<std::mutex> g(mu_);
    done_ = true;
    cv_.notify_all();
  }

  const std::vector<InputItem>& items_;
  const RunOptions& opts_;
  int64_t rate_;
  size_t capacity_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Decoded> queue_;
  bool done_ = false, stop_ = false;
  std::thread thread_;
};

// A killed run can leave `<out>.tmp.<pid>` behind (never under the final name). Whoever writes
// `out` next removes them: shards are disjoint, so no live writer owns them.
void remove_stale_temps(const std::string& out) {
  const fs::path p(out);
  const std::string prefix = p.filename().string() + ".tmp.";
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(p.parent_path(), ec))
    if (e.path().filename().string().rfind(prefix, 0) == 0) fs::remove(e.path(), ec);
}

// Embeds one decoded file into its output (streamed for --pool none, so memory stays bounded).
std::vector<int64_t> embed_file(LoadedModel& m, const RunOptions& o, std::vector<float>& wave, const std::string& out) {
  const auto& cfg = m.config;
  const EmbedOptions& eo = o.embed;
  const ChunkPlan plan = plan_chunks(static_cast<int64_t>(wave.size()), eo, cfg);
  if (m.preprocessor.do_normalize && !eo.normalize_per_chunk) normalize_waveform(wave);
  const int64_t n_layers = static_cast<int64_t>(selected_layers(eo, cfg).size());
  const int64_t H = cfg.hidden_size;
  fs::create_directories(fs::path(out).parent_path());
  remove_stale_temps(out);
  if (eo.pool == Pool::Mean) {
    at::Tensor sum;
    run_chunks(*m.model, m.preprocessor, wave, plan, eo, [&](size_t, const at::Tensor& f) {
      auto s = f.to(torch::kDouble).sum(1);
      sum = sum.defined() ? sum + s : s;
    });
    write_npy(out, (sum / static_cast<double>(plan.total_frames)).to(torch::kFloat));
    return {n_layers, H};
  }
  NpyStreamWriter writer(out, {n_layers, plan.total_frames, H});
  run_chunks(*m.model, m.preprocessor, wave, plan, eo, [&](size_t c, const at::Tensor& f) {
    for (int64_t l = 0; l < n_layers; ++l)
      writer.write_at((l * plan.total_frames + plan.frame_offset[c]) * H, f[l]);
  });
  writer.commit();
  return {n_layers, plan.total_frames, H};
}

}  // namespace

std::string output_path(const RunOptions& o, const std::string& rel_out) {
  return (fs::path(o.out_dir) / (rel_out + ".npy")).string();
}

std::string run_settings_json(const LoadedModel& m, const RunOptions& o) {
  nlohmann::json j;
  j["format"] = "mert-embed/1";
  j["model_fingerprint"] = model_fingerprint(m);
  j["model_dir"] = fs::absolute(m.dir).lexically_normal().string();
  j["layers"] = selected_layers(o.embed, m.config);
  j["pool"] = o.embed.pool == Pool::Mean ? "mean" : "none";
  j["chunk_sec"] = o.embed.chunk_sec;
  j["hop_sec"] = o.embed.hop_sec > 0 ? o.embed.hop_sec : o.embed.chunk_sec;
  j["normalize"] = !m.preprocessor.do_normalize ? "off" : o.embed.normalize_per_chunk ? "per-chunk" : "per-file";
  j["sample_rate"] = m.config.sample_rate;
  j["dtype"] = "float32";
  return j.dump(2) + "\n";
}

RunStats run_embedding(LoadedModel& m, const std::vector<InputItem>& items, const RunOptions& o, RunObserver& obs) {
  const auto t_start = Clock::now();
  std::error_code ec;
  fs::create_directories(o.out_dir, ec);
  if (ec || !fs::is_directory(o.out_dir)) throw Error("cannot create output dir '" + o.out_dir + "'");

  // Settings: refuse to mix outputs made with different settings in one dir.
  const std::string settings = run_settings_json(m, o);
  const std::string settings_path = (fs::path(o.out_dir) / "mert-embed.json").string();
  if (fs::exists(settings_path) && !o.overwrite) {
    std::ifstream in(settings_path);
    std::stringstream ss;
    ss << in.rdbuf();
    nlohmann::json old, now = nlohmann::json::parse(settings);
    try {
      old = nlohmann::json::parse(ss.str());
    } catch (const std::exception&) {
    }
    old.erase("model_dir");  // moving the model dir does not change outputs
    now.erase("model_dir");
    if (old != now)
      throw Error(o.out_dir + " holds outputs made with different settings (see mert-embed.json): "
                  "use another -o, or --overwrite to recompute everything");
  }
  io::write_file_atomic(settings_path, [&](std::FILE* f) { io::write_all(f, settings.data(), settings.size(), settings_path); });

  RunStats st;
  std::vector<std::pair<std::string, std::string>> failures;
  const std::string fail_path = failures_path(o);
  obs.on_start(items.size());
  DecodeQueue queue(items, o, m.config.sample_rate, 2);
  while (auto d = queue.pop()) {
    FileEvent ev;
    ev.path = d->item.path;
    ev.output = d->output;
    if (d->skipped) {
      ev.kind = FileEvent::Kind::Skipped;
      ++st.skipped;
      obs.on_file(ev);
      continue;
    }
    if (d->error.empty()) {
      const auto t0 = Clock::now();
      try {
        ev.audio_sec = static_cast<double>(d->samples.size()) / static_cast<double>(m.config.sample_rate);
        ev.shape = embed_file(m, o, d->samples, d->output);
        ev.compute_sec = seconds_since(t0);
        ev.kind = FileEvent::Kind::Ok;
        ++st.ok;
        st.audio_sec += ev.audio_sec;
        st.compute_sec += ev.compute_sec;
      } catch (const std::exception& e) {
        d->error = e.what();
      }
    }
    if (!d->error.empty()) {
      // Decoder messages start with the path; keep the reason only.
      std::string reason = d->error;
      if (reason.rfind(d->item.path + ": ", 0) == 0) reason = reason.substr(d->item.path.size() + 2);
      ev.kind = FileEvent::Kind::Failed;
      ev.reason = reason;
      ++st.failed;
      failures.emplace_back(d->item.path, reason);
      write_failures(fail_path, failures);  // kept current so a killed run still tells
    }
    obs.on_file(ev);
  }
  write_failures(fail_path, failures);
  st.wall_sec = seconds_since(t_start);
  return st;
}

}  // namespace mert
