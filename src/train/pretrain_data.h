#pragma once
// Pre-training data: a fairseq manifest with its label files (one line per clip, one label per
// model frame, as `mert label apply` writes them), random crops aligned with the labels, batches
// addressed by step, and a background loader.
//
// Every batch is a pure function of (corpus, options, step): the epoch order, the batch members
// and the crops come from KeyedRng, so a resumed run and every rank of a multi-process run see
// exactly the batches of one uninterrupted run.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mert/cqt.h"
#include "data/manifest.h"

namespace mert::train {

struct CorpusOptions {
  std::string manifest;                  // <dir>/<split>.tsv
  std::string label_dir;                 // holds <split>.<name> and dict.<name>.txt
  std::vector<std::string> label_names;  // e.g. {"km0"} or {"km0", "km1"}
  int64_t sample_rate = 24000;           // files must already be at this rate
  std::vector<int64_t> conv_kernel{10, 3, 3, 3, 3, 2, 2};  // the model's conv stack: frames per clip
  std::vector<int64_t> conv_stride{5, 2, 2, 2, 2, 2, 2};
  int64_t min_samples = 72000;           // shorter clips are left out (counted in skipped_short)
};

// A manifest and its labels, read and checked when opened.
struct Corpus {
  Manifest manifest;
  std::vector<int64_t> usable;               // manifest entries long enough to train on
  int64_t skipped_short = 0;
  std::vector<int64_t> vocab_sizes;          // per label stream: entries in dict.<name>.txt
  // labels[k] holds stream k's labels of every manifest entry back to back (dictionary indices);
  // entry i's labels start at label_offset[i] and there is one per model frame of the clip.
  std::vector<std::vector<int32_t>> labels;
  std::vector<int64_t> label_offset;
  CorpusOptions options;

  // Throws mert::Error, naming the file and line, for: a missing or unreadable manifest, label
  // file or dict; a label file whose line count differs from the manifest's; a line whose label
  // count is not the clip's frame count; a label not in the dict; audio files that do not exist
  // (counted, first few named); and a corpus with no clip of at least min_samples.
  static Corpus open(const CorpusOptions& opts);
  int64_t frames_for_samples(int64_t n) const;
};

struct BatchOptions {
  int64_t batch_size = 4;        // clips per step, over all ranks
  int64_t crop_samples = 120000; // 5 s at 24 kHz; a batch is cropped to its shortest clip if shorter
  int64_t hop = 320;             // samples per model frame (crops start on frame boundaries)
  uint64_t seed = 1337;
  bool random_crop = true;       // false: every crop starts at the clip's start (validation)
  bool shuffle = true;           // false: manifest order (validation)
  int64_t bucket_batches = 64;   // the epoch order groups clips of similar length into batches,
                                 // sorting windows of this many batches by length (0 = off)
  bool cqt_target = true;        // compute the CQT of the clean crop for the CQT loss
  double cqt_log_gain = 0;       // > 0: the target is log(1 + gain * magnitude)
  CqtConfig cqt;
};

struct Batch {
  int64_t step = 0;
  at::Tensor wave;          // [b, S] float32, clean audio of this rank's rows
  at::Tensor labels;        // [K, b, T] int64
  at::Tensor cqt;           // [b, T, cqt.n_bins] float32 of the clean crop, or undefined
  int64_t first_row = 0;    // global batch row of local row 0
  int64_t global_rows = 0;  // rows of the whole step over all ranks
  int64_t frames = 0;       // T
  std::vector<int64_t> entries;  // manifest entry of each local row
  double sample_rate = 24000;    // of wave (the corpus's rate), for audio_seconds
  double audio_seconds() const;  // of this rank's rows
};

// The batch of training step `step` (0-based), rows [rank*B/world, (rank+1)*B/world) of it.
// Global row j of step s is position s*B + j of the concatenated epoch orders. Crop length
// S = min(crop_samples, shortest clip of the global batch); the crop of row j starts at
// sample hop * k, k ~ U[0, (n_j - S) / hop] from KeyedRng(seed, Crop, step, j), so the crop's
// frame t has label k + t of the clip.
// Throws mert::Error naming the clip for undecodable audio, a wrong sample rate, or a decoded
// length that differs from the manifest. batch_size must be divisible by world.
Batch load_batch(const Corpus& corpus, const BatchOptions& opts, int64_t step, int rank = 0, int world = 1);

// Loads batches for consecutive steps on a background thread, `depth` ahead of the consumer.
class BatchPrefetcher {
 public:
  BatchPrefetcher(const Corpus& corpus, BatchOptions opts, int64_t first_step, int rank = 0, int world = 1,
                  int depth = 2);
  ~BatchPrefetcher();  // stops and joins the thread
  BatchPrefetcher(const BatchPrefetcher&) = delete;
  BatchPrefetcher& operator=(const BatchPrefetcher&) = delete;
  // The next step's batch, in order; rethrows the loader's mert::Error.
  Batch next();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mert::train
