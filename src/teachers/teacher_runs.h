#pragma once
// Catalogue-scale teacher jobs behind `mert features` and `mert label`: per-file feature dumps,
// fitting k-means codebooks on a sample of frames, and writing fairseq/HuBERT label files.
// All of them decode and compute on several threads, write atomically, and resume.
#include <cstdint>
#include <string>
#include <vector>

#include "teachers/codebook.h"
#include "embed/inputs.h"
#include "embed/run_observer.h"
#include "teachers/kmeans.h"
#include "data/manifest.h"
#include "mert/teacher_features.h"

namespace mert {

// ---- mert features ----
struct FeatureRunOptions {
  TeacherFeature type = TeacherFeature::Cqt;
  TeacherParams params;
  bool model_grid = true;  // false: the feature's own framing
  ModelGrid grid;
  std::string out_dir;
  bool overwrite = false;
  int shard_index = 0, shard_count = 1;
  int jobs = 1;  // files computed in parallel
  // > 0: instead of frames, per-chunk statistics (the probe's hand-crafted baselines): the
  // (segment of the) file is cut into chunks of this length (the last one kept if at least
  // min_last_chunk_sec long, or if it is the only one), and each chunk's native frames give their
  // mean and standard deviation over time: float32 [1, n_chunks, 2 * dim].
  double chunk_stats_sec = 0;
  double min_last_chunk_sec = 0;
};
// Per-chunk mean and population standard deviation over the rows of each chunk's features,
// [n_chunks, 2 * dim] (means first). Chunks as FeatureRunOptions::chunk_stats_sec describes.
FeatureMatrix chunk_statistics(TeacherExtractor& ex, const float* x, int64_t n, int64_t chunk_samples,
                               int64_t min_last_samples);
// <out>/<rel_out>.npy, float32 [T, dim] (or the chunk statistics); settings in
// <out>/mert-features.json (a rerun with other
// settings is refused unless overwrite); failures in <out>/failures.tsv.
RunStats run_features(const std::vector<InputItem>& items, const FeatureRunOptions& o, RunObserver& obs);

// ---- mert label fit ----
struct LabelFitOptions {
  std::vector<TeacherFeature> features;  // one codebook per feature (product codebook if > 1)
  std::vector<int64_t> clusters;         // one per feature
  TeacherParams params;
  ModelGrid grid;
  int64_t sample_frames = 500000;        // frames k-means is fitted on (0 = all scanned frames)
  int64_t scan_factor = 4;               // audio: stop scanning once this many x sample_frames were seen
  KMeansOptions kmeans;                  // clusters is taken from `clusters`
  int jobs = 1;
};
struct LabelFitResult {
  Codebook codebook;
  int64_t scanned_files = 0, scanned_frames = 0, failed_files = 0;
  double feature_sec = 0, fit_sec = 0;
  std::vector<int> iterations;  // per codebook
};
// Audio: files are visited in a seeded random order and frames reservoir-sampled (the same
// frames for every feature of a product codebook) until scan_factor * sample_frames frames were
// seen or the files run out. Unreadable files are reported and skipped.
LabelFitResult fit_codebook_from_audio(const std::vector<std::string>& audio_paths, const LabelFitOptions& o,
                                       RunObserver& obs);
// .npy frame files ([N, D] float32/float64), concatenated; a uniform sample of sample_frames rows.
LabelFitResult fit_codebook_from_npy(const std::vector<std::string>& npy_paths, const LabelFitOptions& o);

// ---- mert label apply ----
struct LabelApplyOptions {
  std::string label_dir;
  std::string name = "km";        // <split>.<name>, dict.<name>.txt; name0, name1... for product codebooks
  bool combine = false;           // product codebook -> one label stream (mixed-radix id)
  bool overwrite = false;
  int shard_index = 0, shard_count = 1;
  int64_t block_entries = 256;    // resume granularity: manifest entries per finished part
  int jobs = 1;
  ModelGrid grid;
};
struct LabelApplyStats {
  int64_t entries = 0, computed = 0, failed = 0, skipped = 0;  // skipped: in finished parts
  double audio_sec = 0, compute_sec = 0;
  bool complete = false;  // every part exists and the label files were assembled
  std::vector<std::string> outputs;
};
// Label stream names for a codebook: {name} or {name0, name1, ...} (or {name} when combining).
std::vector<std::string> label_names(const Codebook& cb, const LabelApplyOptions& o);
LabelApplyStats apply_codebook(const Codebook& cb, const std::string& codebook_path, const Manifest& m,
                               const LabelApplyOptions& o, RunObserver& obs);

}  // namespace mert
