#pragma once
// Catalogue-scale teacher jobs behind `mert features` and `mert label`: per-file feature dumps,
// fitting k-means codebooks on a sample of frames, and writing fairseq/HuBERT label files.
// All of them decode and compute on several threads, write atomically, and resume.
#include <cstdint>
#include <memory>
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
  std::string name = "km";        // <split>.<stream>, dict.<stream>.txt; streams named by the Labeler
  bool overwrite = false;
  int shard_index = 0, shard_count = 1;
  int64_t block_entries = 256;    // resume granularity: manifest entries per finished part
  int jobs = 1;
  ModelGrid grid;
  // A teacher that labels files in batches (Labeler::batch_files) gets at most this much audio per
  // batch, by the manifest's lengths (a longer file goes alone): ~170 MB decoded at 24 kHz.
  double group_audio_sec = 1800;
};
struct LabelApplyStats {
  int64_t entries = 0, computed = 0, failed = 0, skipped = 0;  // skipped: in finished parts
  double audio_sec = 0, compute_sec = 0;
  bool complete = false;  // every part exists and the label files were assembled
  std::vector<std::string> outputs;
};
// The teacher behind a label run: what turns one decoded file into label streams on the model's
// frame grid. One entry's labels: one int vector per stream, one int per model frame.
using EntryLabels = std::vector<std::vector<int32_t>>;
class Labeler {
 public:
  virtual ~Labeler() = default;
  virtual int64_t sample_rate() const = 0;               // the audio is decoded at this rate
  virtual std::vector<std::string> stream_names(const std::string& name) const = 0;
  virtual std::vector<int64_t> vocab_sizes() const = 0;  // classes per stream (dict.<stream>.txt)
  virtual std::string teacher_path() const = 0;          // the file the teacher came from
  // What identifies the teacher's labels (JSON object text): recorded with the run, and a rerun
  // with another teacher is refused. The path itself may move.
  virtual std::string identity_json() const = 0;
  virtual std::string describe() const = 0;  // one line for the console
  // Labels of one file; `worker` in [0, jobs) lets implementations keep per-thread state.
  virtual EntryLabels label(const std::vector<float>& samples, const ModelGrid& grid, int worker) = 0;
  // Files a worker hands over together (a teacher that shares work across files says > 1).
  virtual int64_t batch_files() const { return 1; }
  // Labels of up to batch_files() files, in order; by default one label() call each.
  virtual std::vector<EntryLabels> label_batch(const std::vector<const std::vector<float>*>& files,
                                               const ModelGrid& grid, int worker);
};
// k-means codebooks (label fit): stream <name>, or <name>0, <name>1... per codebook of a product
// codebook, or one stream of combined ids (combine).
std::unique_ptr<Labeler> make_kmeans_labeler(const std::string& codebook_path, bool combine, int jobs);
// EnCodec codes (teachers/encodec.h) at `kbps`: streams <name>_0 ... <name>_{n_q-1},
// codebook_size classes each; `batch` files are encoded together (Encodec::embed_many). Code t
// labels model frame t; EnCodec's extra frame or two at the end (ceil(n / hop) against the conv
// stack's floor((n - receptive field) / hop) + 1) are dropped, as fairseq crops labels to the
// features.
std::unique_ptr<Labeler> make_encodec_labeler(const std::string& codec_path, double kbps, int64_t batch = 1);

LabelApplyStats apply_labels(Labeler& teacher, const Manifest& m, const LabelApplyOptions& o, RunObserver& obs);

}  // namespace mert
