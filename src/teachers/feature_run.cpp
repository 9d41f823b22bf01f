// `mert features`: one float32 .npy [T, dim] per input, computed on several threads.
#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "io/run_dir.h"
#include "mert/audio.h"
#include "mert/error.h"
#include "io/npy.h"
#include "teachers/teacher_runs.h"
#include "util/ordered_pool.h"

namespace fs = std::filesystem;

namespace mert {

namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct FeatureResult {
  bool skipped = false;
  double audio_sec = 0, compute_sec = 0;
  std::vector<int64_t> shape;
  std::string warning;  // from the decoder
};
}  // namespace

FeatureMatrix chunk_statistics(TeacherExtractor& ex, const float* x, int64_t n, int64_t chunk_samples,
                               int64_t min_last_samples) {
  std::vector<std::pair<int64_t, int64_t>> chunks;  // (start, length)
  for (int64_t start = 0; start < n; start += chunk_samples) {
    const int64_t len = std::min(chunk_samples, n - start);
    if (start == 0 || len >= chunk_samples || len >= min_last_samples) chunks.emplace_back(start, len);
  }
  FeatureMatrix out(static_cast<int64_t>(chunks.size()), 2 * ex.dim());
  const int64_t d = ex.dim();
  for (size_t c = 0; c < chunks.size(); ++c) {
    const FeatureMatrix f = ex.native_padded(x + chunks[c].first, chunks[c].second);
    if (f.rows == 0) throw Error("audio too short for one feature frame");
    float* row = out.row(static_cast<int64_t>(c));
    for (int64_t j = 0; j < d; ++j) {
      double s = 0, s2 = 0;
      for (int64_t t = 0; t < f.rows; ++t) s += f.at(t, j);
      const double mean = s / static_cast<double>(f.rows);
      for (int64_t t = 0; t < f.rows; ++t) s2 += (f.at(t, j) - mean) * (f.at(t, j) - mean);
      row[j] = static_cast<float>(mean);
      row[d + j] = static_cast<float>(std::sqrt(s2 / static_cast<double>(f.rows)));
    }
  }
  return out;
}

RunStats run_features(const std::vector<InputItem>& items, const FeatureRunOptions& o, RunObserver& obs) {
  const auto t_start = Clock::now();
  std::error_code ec;
  fs::create_directories(o.out_dir, ec);
  if (ec || !fs::is_directory(o.out_dir)) throw Error("cannot create output dir '" + o.out_dir + "'");
  o.params.validate();

  nlohmann::ordered_json settings;
  settings["format"] = "mert-features/1";
  settings["type"] = teacher_feature_name(o.type);
  settings["grid"] = o.model_grid ? "model" : "native";
  settings["conv_kernel"] = o.grid.conv_kernel;
  settings["conv_stride"] = o.grid.conv_stride;
  settings["params"] = nlohmann::json::parse(o.params.to_json());
  if (o.chunk_stats_sec > 0) {
    settings["chunk_stats_sec"] = o.chunk_stats_sec;
    settings["min_last_chunk_sec"] = o.min_last_chunk_sec;
  }
  io::check_and_record_settings((fs::path(o.out_dir) / "mert-features.json").string(), settings.dump(2) + "\n",
                                o.overwrite, {}, o.out_dir);

  // One extractor per worker: they own FFT plans and buffers.
  const int jobs = std::max(1, o.jobs);
  std::vector<std::unique_ptr<TeacherExtractor>> extractors(static_cast<size_t>(jobs));
  auto output_of = [&](size_t i) { return (fs::path(o.out_dir) / (items[i].rel_out + ".npy")).string(); };

  RunStats st;
  std::vector<std::pair<std::string, std::string>> failures;
  const std::string fail_path = io::failures_path(o.out_dir, o.shard_index, o.shard_count);
  obs.on_start(items.size());

  std::function<FeatureResult(size_t, int)> work = [&](size_t i, int w) {
    FeatureResult r;
    const InputItem& item = items[i];
    if (!item.error.empty()) throw Error(item.error);
    const std::string out = output_of(i);
    if (!o.overwrite && fs::exists(out)) {
      r.skipped = true;
      return r;
    }
    if (!extractors[static_cast<size_t>(w)])
      extractors[static_cast<size_t>(w)] = std::make_unique<TeacherExtractor>(o.type, o.params);
    TeacherExtractor& ex = *extractors[static_cast<size_t>(w)];
    Audio audio = decode_audio(item.path, static_cast<int64_t>(o.params.sample_rate));
    apply_segment(item, audio.samples, static_cast<int64_t>(o.params.sample_rate));
    const auto t0 = Clock::now();
    const int64_t n = static_cast<int64_t>(audio.samples.size());
    FeatureMatrix f;
    if (o.chunk_stats_sec > 0)
      f = chunk_statistics(ex, audio.samples.data(), n, std::llround(o.chunk_stats_sec * o.params.sample_rate),
                           std::llround(o.min_last_chunk_sec * o.params.sample_rate));
    else
      f = o.model_grid ? ex.on_grid(audio.samples.data(), n, o.grid) : ex.native(audio.samples.data(), n);
    r.compute_sec = seconds_since(t0);
    r.warning = std::move(audio.warning);
    r.audio_sec = static_cast<double>(n) / o.params.sample_rate;
    r.shape = o.chunk_stats_sec > 0 ? std::vector<int64_t>{1, f.rows, f.cols} : std::vector<int64_t>{f.rows, f.cols};
    std::error_code dir_ec;
    fs::create_directories(fs::path(out).parent_path(), dir_ec);
    if (dir_ec) throw OutputError("cannot create " + fs::path(out).parent_path().string() + ": " + dir_ec.message());
    io::remove_stale_temps(out);
    write_npy(out, torch::from_blob(f.data.data(), r.shape, torch::kFloat32));
    return r;
  };
  std::function<bool(size_t, Outcome<FeatureResult>&)> consume = [&](size_t i, Outcome<FeatureResult>& out) {
    FileEvent ev;
    ev.path = items[i].path;
    ev.output = output_of(i);
    if (out.output_failed) throw OutputError(out.error);
    if (!out.error.empty()) {
      ev.kind = FileEvent::Kind::Failed;
      std::string reason = out.error;
      if (reason.rfind(items[i].path + ": ", 0) == 0) reason = reason.substr(items[i].path.size() + 2);
      ev.reason = reason;
      ++st.failed;
      failures.emplace_back(items[i].path, reason);
      io::write_failures(fail_path, failures);  // current even if the run is killed
    } else if (out.value->skipped) {
      ev.kind = FileEvent::Kind::Skipped;
      ++st.skipped;
    } else {
      ev.kind = FileEvent::Kind::Ok;
      ev.warning = out.value->warning;
      if (!ev.warning.empty()) ++st.warned;
      ev.audio_sec = out.value->audio_sec;
      ev.compute_sec = out.value->compute_sec;
      ev.shape = out.value->shape;
      st.audio_sec += ev.audio_sec;
      st.compute_sec += ev.compute_sec;
      ++st.ok;
    }
    obs.on_file(ev);
    return true;
  };
  run_ordered<FeatureResult>(items.size(), jobs, work, consume);
  if (failures.empty() && fs::exists(fail_path)) fs::remove(fail_path, ec);
  st.wall_sec = seconds_since(t_start);
  return st;
}

}  // namespace mert
