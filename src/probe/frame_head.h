#pragma once
// Training one frame-level probe head (one sweep point): the clip-level head (probe_head.h) applied
// to every frame, cross-entropy over the frames' classes, Adam, and MARBLE's epoch control on the
// task's validation metric after decoding — beats through the DBN tracker, chords as segments of
// equal frame classes — so that epochs and sweep points are chosen by the score the task reports.
#include <torch/types.h>

#include <map>
#include <string>
#include <vector>

#include "mert/beat_tracker.h"
#include "mert/metrics.h"
#include "probe/frame_cache.h"
#include "probe/train_head.h"

namespace mert::probe {

// One split in memory, at one layer choice.
struct FrameSplit {
  std::vector<const ProbeItem*> items;
  FrameFeatures features;
  at::Tensor targets;  // int64 [F]: training class per frame (kIgnoreFrame: not scored)
  std::vector<std::vector<double>> ref_beats;                   // Beat: per item
  std::vector<std::vector<metrics::ChordSegment>> ref_chords;   // Chords: per item
};

struct FrameData {
  FrameSplit train, valid, test;
  int64_t outputs = 0;
  double fps = 75;
  at::Tensor feature_mean, feature_std;  // hand features: standardisation from the training frames
};

// Loads the three splits at `layer`. Beat targets are widened by `beat_widen` frames in training
// only (MARBLE: 1); evaluation uses the annotations themselves.
FrameData load_frame_data(const TaskSpec& task, const ProbeDataset& data, const FrameCacheInfo& cache, int layer,
                          int beat_widen);

struct FrameEvaluation {
  std::map<std::string, double> metrics;  // names as `mert metrics beat|chord` prints them
  double monitor = 0;
  std::vector<std::vector<double>> beats;                   // Beat: estimated beat times per item
  std::vector<std::vector<metrics::ChordSegment>> chords;   // Chords: estimated segments per item
};

// Decodes and scores one split from the head's per-frame logits [F, C].
FrameEvaluation evaluate_frames(const TaskSpec& task, const ProbeDataset& data, const FrameData& d,
                                const FrameSplit& split, const at::Tensor& logits, const metrics::DbnBeatTracker& dbn);

struct TrainedFramePoint {
  PointResult result;
  FrameEvaluation valid, test;
  std::vector<double> layer_mix;
};

// crop_frames > 0: each epoch trains on one random crop of at most that many frames per item
// (MARBLE trains beat heads on 10 s crops).
TrainedFramePoint train_frame_point(const TaskSpec& task, const ProbeDataset& data, const FrameData& d,
                                    const TrainSettings& s, int64_t crop_frames, const metrics::DbnBeatTracker& dbn);

}  // namespace mert::probe
