// `mert label fit`: k-means codebooks on a sample of teacher-feature frames.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <random>

#include "mert/audio.h"
#include "mert/error.h"
#include "io/npy.h"
#include "teachers/teacher_runs.h"
#include "util/ordered_pool.h"

namespace mert {

namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

void check_options(const LabelFitOptions& o) {
  if (o.features.empty()) throw Error("no feature given to fit a codebook on");
  if (o.clusters.size() != o.features.size())
    throw Error("give one cluster count per feature (" + std::to_string(o.features.size()) + " features, " +
                std::to_string(o.clusters.size()) + " counts)");
  for (int64_t k : o.clusters)
    if (k < 2 || k > 1000000) throw Error("cluster counts must be in [2, 1000000], got " + std::to_string(k));
  if (o.sample_frames < 0) throw Error("the number of sample frames must be >= 0");
  if (o.scan_factor < 1) throw Error("the scan factor must be >= 1");
}

Codebook fit_all(const std::vector<FeatureMatrix>& samples, const LabelFitOptions& o, LabelFitResult& res) {
  Codebook cb;
  const auto t0 = Clock::now();
  for (size_t p = 0; p < samples.size(); ++p) {
    if (samples[p].rows < o.clusters[p])
      throw Error("only " + std::to_string(samples[p].rows) + " frames to fit " + std::to_string(o.clusters[p]) +
                  " clusters: give more audio or fewer clusters");
    KMeansOptions km = o.kmeans;
    km.clusters = o.clusters[p];
    KMeansResult r = kmeans_fit(samples[p], km);
    cb.centroids.push_back(std::move(r.centroids));
    cb.inertia.push_back(r.inertia);
    res.iterations.push_back(r.iterations);
  }
  res.fit_sec = seconds_since(t0);
  cb.fitted_frames = samples.empty() ? 0 : samples[0].rows;
  cb.algorithm = o.kmeans.minibatch ? "minibatch" : "lloyd";
  cb.seed = o.kmeans.seed;
  return cb;
}
}  // namespace

LabelFitResult fit_codebook_from_audio(const std::vector<std::string>& paths, const LabelFitOptions& o,
                                       RunObserver& obs) {
  check_options(o);
  o.params.validate();
  if (paths.empty()) throw Error("no audio to fit a codebook on");
  LabelFitResult res;
  const size_t P = o.features.size();
  const int jobs = std::max(1, o.jobs);

  // Seeded random file order, so a partial scan is still a fair sample of the collection.
  std::vector<size_t> order(paths.size());
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(o.kmeans.seed ^ 0x9e3779b97f4a7c15ULL);
  std::shuffle(order.begin(), order.end(), rng);

  // Reservoir of frame positions, the same rows for every feature of a product codebook.
  const int64_t N = o.sample_frames;
  std::vector<FeatureMatrix> reservoir(P);
  for (size_t p = 0; p < P; ++p) {
    reservoir[p].cols = teacher_feature_dim(o.features[p], o.params);
    if (N > 0) reservoir[p].data.reserve(static_cast<size_t>(N * reservoir[p].cols));
  }
  const int64_t scan_limit = N > 0 ? N * o.scan_factor : INT64_MAX;

  std::vector<std::vector<std::unique_ptr<TeacherExtractor>>> extractors(static_cast<size_t>(jobs));
  const auto t0 = Clock::now();
  obs.on_start(paths.size());
  std::function<std::vector<FeatureMatrix>(size_t, int)> work = [&](size_t i, int w) {
    auto& ex = extractors[static_cast<size_t>(w)];
    if (ex.empty())
      for (auto f : o.features) ex.push_back(std::make_unique<TeacherExtractor>(f, o.params));
    const Audio a = decode_audio(paths[order[i]], static_cast<int64_t>(o.params.sample_rate));
    std::vector<FeatureMatrix> feats;
    for (auto& e : ex) feats.push_back(e->on_grid(a.samples.data(), static_cast<int64_t>(a.samples.size()), o.grid));
    return feats;
  };
  std::function<bool(size_t, Outcome<std::vector<FeatureMatrix>>&)> consume =
      [&](size_t i, Outcome<std::vector<FeatureMatrix>>& out) {
        FileEvent ev;
        ev.path = paths[order[i]];
        if (!out.error.empty()) {
          ev.kind = FileEvent::Kind::Failed;
          ev.reason = out.error;
          ++res.failed_files;
          obs.on_file(ev);
          return true;
        }
        const auto& feats = *out.value;
        const int64_t T = feats[0].rows;
        for (int64_t t = 0; t < T; ++t) {
          const int64_t g = res.scanned_frames++;
          int64_t slot = -1;
          if (N == 0 || g < N) {
            slot = reservoir[0].rows;
            for (size_t p = 0; p < P; ++p) {
              reservoir[p].data.resize(static_cast<size_t>((reservoir[p].rows + 1) * reservoir[p].cols));
              ++reservoir[p].rows;
            }
          } else {
            const int64_t j = static_cast<int64_t>(rng() % static_cast<uint64_t>(g + 1));
            if (j < N) slot = j;
          }
          if (slot >= 0)
            for (size_t p = 0; p < P; ++p) std::copy_n(feats[p].row(t), feats[p].cols, reservoir[p].row(slot));
        }
        ++res.scanned_files;
        ev.kind = FileEvent::Kind::Ok;
        ev.audio_sec = static_cast<double>(T * o.grid.hop()) / o.params.sample_rate;
        ev.shape = {T};
        obs.on_file(ev);
        return res.scanned_frames < scan_limit;
      };
  run_ordered<std::vector<FeatureMatrix>>(order.size(), jobs, work, consume);
  res.feature_sec = seconds_since(t0);
  if (res.scanned_files == 0) throw Error("none of the " + std::to_string(paths.size()) + " audio files could be read");
  res.codebook = fit_all(reservoir, o, res);
  res.codebook.features = o.features;
  res.codebook.params_json = o.params.to_json();
  return res;
}

LabelFitResult fit_codebook_from_npy(const std::vector<std::string>& paths, const LabelFitOptions& o) {
  if (o.clusters.size() != 1) throw Error(".npy frames fit one codebook: give a single cluster count");
  if (o.clusters[0] < 2) throw Error("cluster counts must be >= 2");
  LabelFitResult res;
  const auto t0 = Clock::now();
  std::vector<at::Tensor> parts;
  for (const auto& p : paths) {
    at::Tensor t = read_npy(p);
    if (t.dim() != 2) throw Error(p + ": frame files must be 2-D [frames, dim]");
    if (!parts.empty() && t.size(1) != parts[0].size(1))
      throw Error(p + ": dim " + std::to_string(t.size(1)) + " differs from " + paths[0] + "'s " +
                  std::to_string(parts[0].size(1)));
    parts.push_back(t.to(torch::kFloat32));
    ++res.scanned_files;
  }
  at::Tensor all = torch::cat(parts, 0).contiguous();
  res.scanned_frames = all.size(0);
  if (o.sample_frames > 0 && o.sample_frames < all.size(0)) {
    // Uniform sample without replacement, deterministic for the seed.
    std::vector<int64_t> idx(static_cast<size_t>(all.size(0)));
    std::iota(idx.begin(), idx.end(), 0);
    std::mt19937_64 rng(o.kmeans.seed ^ 0x9e3779b97f4a7c15ULL);
    std::shuffle(idx.begin(), idx.end(), rng);
    idx.resize(static_cast<size_t>(o.sample_frames));
    std::sort(idx.begin(), idx.end());
    all = all.index_select(0, torch::tensor(idx, torch::kInt64)).contiguous();
  }
  std::vector<FeatureMatrix> sample(1, FeatureMatrix(all.size(0), all.size(1)));
  std::memcpy(sample[0].data.data(), all.data_ptr<float>(), sample[0].data.size() * sizeof(float));
  res.feature_sec = seconds_since(t0);
  res.codebook = fit_all(sample, o, res);
  return res;
}

}  // namespace mert
