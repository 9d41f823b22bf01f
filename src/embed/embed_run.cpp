#include "embed/embed_run.h"

#include <torch/types.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "io/atomic_file.h"
#include "io/run_dir.h"
#include "mert/audio.h"
#include "mert/error.h"
#include "io/npy.h"
#include "util/system_info.h"
#include "util/random.h"

namespace mert {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

// The weight file's size plus 64 KiB samples at 16 evenly spaced offsets: a full hash of 1.3 GB
// would dominate start-up.
std::string model_fingerprint(const LoadedModel& m) {
  util::Fnv1a64 h;
  for (const char* f : {"config.json", "preprocessor_config.json"}) {
    std::ifstream in(fs::path(m.dir) / f, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string s = ss.str();
    h.update(s);
  }
  std::ifstream w(m.weights_path, std::ios::binary);
  const auto size = fs::file_size(m.weights_path);
  h.update(&size, sizeof(size));
  std::vector<char> buf(65536);
  for (int k = 0; k < 16; ++k) {
    w.seekg(static_cast<std::streamoff>(size / 16 * k));
    w.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    h.update(buf.data(), static_cast<size_t>(w.gcount()));
    w.clear();
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h.value()));
  return hex;
}

namespace {

std::string failures_path(const RunOptions& o) { return io::failures_path(o.out_dir, o.shard_index, o.shard_count); }

// One decoded file, or the reason it could not be.
struct Decoded {
  InputItem item;
  std::string output;
  bool skipped = false;
  bool recompute_only = false;  // output exists; decoded only because its group is recomputed
  std::string error;
  std::string warning;  // from the decoder
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
    // Files are processed in fixed groups of `group_files` consecutive items (their chunks share
    // batches). A group with any missing output is recomputed whole, so every output is always
    // computed with the same batch-mates: a resumed run gives byte-identical files.
    const size_t G = static_cast<size_t>(std::max(1, opts_.group_files));
    for (size_t g0 = 0; g0 < items_.size(); g0 += G) {
      const size_t g1 = std::min(items_.size(), g0 + G);
      std::error_code ec;
      bool need = opts_.overwrite;
      for (size_t i = g0; i < g1 && !need; ++i)
        if (items_[i].error.empty() && !fs::exists(output_path(opts_, items_[i].rel_out), ec)) need = true;
      for (size_t i = g0; i < g1; ++i) {
        const InputItem& item = items_[i];
        Decoded d;
        d.item = item;
        d.output = output_path(opts_, item.rel_out);
        if (!item.error.empty()) {
          d.error = item.error;
        } else if (!need) {
          d.skipped = true;  // outputs appear only when complete, so existing = done
        } else {
          d.recompute_only = !opts_.overwrite && fs::exists(d.output, ec);
          try {
            Audio a = decode_audio(item.path, rate_);
            d.samples = std::move(a.samples);
            d.warning = std::move(a.warning);
            apply_segment(item, d.samples, rate_);
          } catch (const std::exception& e) {
            d.error = e.what();
          }
        }
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return queue_.size() < capacity_ || stop_; });
        if (stop_) {  // the run stopped early (an output failure): finish() takes the lock itself
          lk.unlock();
          return finish();
        }
        queue_.push_back(std::move(d));
        cv_.notify_all();
      }
    }
    finish();
  }
  void finish() {
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


// One file of a group on its way through the model: where its frames go.
struct Member {
  Decoded* d;
  ChunkPlan plan;
  at::Tensor sum;                          // Pool::Mean, float64; Pool::Chunks [n_layers, n_chunks, H]
  std::unique_ptr<NpyStreamWriter> writer; // Pool::None, streamed (bounded memory)
  std::vector<int64_t> shape;
  std::string error;
};

// The input shapes of the group run last, whose kernels oneDNN holds in its cache.
using ShapeSet = std::set<std::pair<int64_t, int64_t>>;

// Embeds the decoded, error-free files of one group; their chunks share batches. Writes the
// outputs of members not marked recompute_only. Per-file errors (too short) fail that file only.
void embed_group(LoadedModel& m, const RunOptions& o, std::vector<Member>& members, RunObserver& obs,
                 ShapeSet& cached_shapes) {
  const auto& cfg = m.config;
  const EmbedOptions& eo = o.embed;
  const int64_t n_layers = static_cast<int64_t>(selected_layers(eo, cfg).size());
  const int64_t H = cfg.hidden_size;
  std::vector<Member*> live;
  for (auto& mb : members) {
    try {
      mb.plan = plan_chunks(static_cast<int64_t>(mb.d->samples.size()), eo, cfg);
      if (m.preprocessor.do_normalize && !eo.normalize_per_chunk) normalize_waveform(mb.d->samples);
      if (!mb.d->recompute_only) {
        fs::create_directories(fs::path(mb.d->output).parent_path());
        io::remove_stale_temps(mb.d->output);
      }
      if (eo.pool == Pool::None) {
        mb.shape = {n_layers, mb.plan.total_frames, H};
        if (!mb.d->recompute_only) mb.writer = std::make_unique<NpyStreamWriter>(mb.d->output, mb.shape, o.half_frames ? at::kHalf : at::kFloat);
      } else if (eo.pool == Pool::Chunks) {
        mb.shape = {n_layers, static_cast<int64_t>(mb.plan.size()), H};
        if (!mb.d->recompute_only) mb.sum = torch::empty(mb.shape, torch::kFloat);
      } else {
        mb.shape = {n_layers, H};
      }
      live.push_back(&mb);
    } catch (const OutputError&) {
      throw;  // the disk, not this file: every later output would fail too
    } catch (const fs::filesystem_error& e) {
      throw OutputError(e.what());
    } catch (const std::exception& e) {
      mb.error = e.what();
    }
  }
  std::vector<const std::vector<float>*> waves;
  std::vector<const ChunkPlan*> plans;
  for (auto* mb : live) waves.push_back(&mb->d->samples), plans.push_back(&mb->plan);
  // A group with other input shapes than the last one's drops the kernels cached for those: over
  // a catalogue of different lengths they are rarely used again, yet while cached they sit
  // scattered among the activations in the heap and fragment it (docs/RELIABILITY.md, "Memory over
  // a catalogue"). Runs of equal shapes (equal-length clips) keep them.
  const auto shapes = batch_shapes(plans, eo);
  ShapeSet group_shapes(shapes.begin(), shapes.end());
  if (group_shapes != cached_shapes) {
    release_kernel_cache();
    cached_shapes = std::move(group_shapes);
  }
  double done_sec = 0;
  try {
    run_chunks_multi(*m.model, m.preprocessor, waves, plans, eo, [&](size_t f, size_t c, const at::Tensor& fr) {
      Member& mb = *live[f];
      done_sec += static_cast<double>(mb.plan.length[c]) / static_cast<double>(cfg.sample_rate);
      obs.on_chunk(done_sec);
      if (mb.d->recompute_only) return;
      if (eo.pool == Pool::Mean) {
        auto s = fr.to(torch::kDouble).sum(1);
        mb.sum = mb.sum.defined() ? mb.sum + s : s;
      } else if (eo.pool == Pool::Chunks) {
        mb.sum.select(1, static_cast<int64_t>(c)).copy_(fr.to(torch::kDouble).mean(1));
      } else {
        for (int64_t l = 0; l < n_layers; ++l)
          mb.writer->write_at((l * mb.plan.total_frames + mb.plan.frame_offset[c]) * H, fr[l]);
      }
    });
    for (auto* mb : live) {
      if (mb->d->recompute_only) continue;
      try {
        if (eo.pool == Pool::Mean)
          write_npy(mb->d->output, (mb->sum / static_cast<double>(mb->plan.total_frames)).to(torch::kFloat));
        else if (eo.pool == Pool::Chunks)
          write_npy(mb->d->output, mb->sum);
        else
          mb->writer->commit();
      } catch (const OutputError&) {
        throw;
      } catch (const std::exception& e) {
        mb->error = e.what();
      }
    }
  } catch (const OutputError&) {
    throw;
  } catch (const std::exception& e) {
    for (auto* mb : live) mb->error = e.what();  // a failed forward fails the whole group
  }
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
  j["pool"] = pool_name(o.embed.pool);
  if (o.embed.min_last_chunk_sec > 0) j["min_last_chunk_sec"] = o.embed.min_last_chunk_sec;
  j["chunk_sec"] = o.embed.chunk_sec;
  j["hop_sec"] = o.embed.hop_sec > 0 ? o.embed.hop_sec : o.embed.chunk_sec;
  j["normalize"] = !m.preprocessor.do_normalize ? "off" : o.embed.normalize_per_chunk ? "per-chunk" : "per-file";
  j["sample_rate"] = m.config.sample_rate;
  j["dtype"] = o.half_frames && o.embed.pool == Pool::None ? "float16" : "float32";
  if (m.model->dtype() != torch::kFloat) j["compute_dtype"] = compute_dtype_name(m.model->dtype());  // fp32 runs keep older settings files valid
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
  io::check_and_record_settings(settings_path, settings, o.overwrite, {"model_dir"}, o.out_dir);  // moving the model dir does not change outputs

  RunStats st;
  std::vector<std::pair<std::string, std::string>> failures;
  const std::string fail_path = failures_path(o);
  obs.on_start(items.size());
  const size_t G = static_cast<size_t>(std::max(1, o.group_files));
  DecodeQueue queue(items, o, m.config.sample_rate, std::max<size_t>(2, G));
  ShapeSet cached_shapes;
  auto report_failure = [&](FileEvent& ev, const Decoded& d, const std::string& error) {
    // Decoder messages start with the path; keep the reason only.
    std::string reason = error;
    if (reason.rfind(d.item.path + ": ", 0) == 0) reason = reason.substr(d.item.path.size() + 2);
    ev.kind = FileEvent::Kind::Failed;
    ev.reason = reason;
    ++st.failed;
    failures.emplace_back(d.item.path, reason);
    io::write_failures(fail_path, failures);  // kept current so a killed run still tells
  };
  for (bool more = true; more;) {
    std::vector<Decoded> group;
    while (group.size() < G) {
      auto d = queue.pop();
      if (!d) {
        more = false;
        break;
      }
      group.push_back(std::move(*d));
    }
    std::vector<Member> members;
    for (auto& d : group)
      if (!d.skipped && d.error.empty()) members.push_back(Member{&d, {}, {}, nullptr, {}, ""});
    const auto t0 = Clock::now();
    if (!members.empty()) embed_group(m, o, members, obs, cached_shapes);
    const double group_sec = seconds_since(t0);
    double group_audio = 0;
    for (auto& mb : members)
      if (mb.error.empty() && !mb.d->recompute_only) group_audio += static_cast<double>(mb.d->samples.size());
    size_t k = 0;
    for (auto& d : group) {
      FileEvent ev;
      ev.path = d.item.path;
      ev.output = d.output;
      Member* mb = (!d.skipped && d.error.empty()) ? &members[k++] : nullptr;
      if (d.skipped || (mb && mb->error.empty() && d.recompute_only)) {
        ev.kind = FileEvent::Kind::Skipped;
        ++st.skipped;
      } else if (!d.error.empty() || (mb && !mb->error.empty())) {
        report_failure(ev, d, d.error.empty() ? mb->error : d.error);
      } else {
        ev.kind = FileEvent::Kind::Ok;
        ev.warning = d.warning;
        if (!ev.warning.empty()) ++st.warned;
        ev.shape = mb->shape;
        ev.audio_sec = static_cast<double>(d.samples.size()) / static_cast<double>(m.config.sample_rate);
        // Compute time of a shared group is attributed in proportion to audio length.
        ev.compute_sec = group_audio > 0 ? group_sec * static_cast<double>(d.samples.size()) / group_audio : 0;
        ++st.ok;
        st.audio_sec += ev.audio_sec;
        st.compute_sec += ev.compute_sec;
      }
      obs.on_file(ev);
    }
  }
  io::write_failures(fail_path, failures);
  st.wall_sec = seconds_since(t_start);
  return st;
}

}  // namespace mert
