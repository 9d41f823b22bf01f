#include "probe/frame_head.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <chrono>
#include <random>
#include <set>

#include "mert/error.h"
#include "probe/epoch_schedule.h"
#include "probe/frame_targets.h"
#include "probe/readers.h"
#include "probe/probe_head.h"

namespace mert::probe {
namespace {

namespace F = torch::nn::functional;
constexpr int64_t kSliceFrames = 8192;

FrameSplit load_split(const TaskSpec& task, const ProbeDataset& data, const FrameCacheInfo& cache, const std::string& split,
                      int layer, double fps, int widen) {
  const std::set<std::string> failed(cache.failed_ids.begin(), cache.failed_ids.end());
  FrameSplit s;
  for (const auto& it : data.items)
    if (it.split == split && !failed.count(it.id)) s.items.push_back(&it);
  if (s.items.empty()) throw Error("the " + split + " split has no usable items");
  s.features = load_frame_features(cache, s.items, layer);
  std::vector<int64_t> y;
  y.reserve(static_cast<size_t>(s.features.total()));
  for (size_t i = 0; i < s.items.size(); ++i) {
    const std::string& file = s.items[i]->annotation;
    std::vector<int64_t> t;
    if (task.type == TaskType::Beat) {
      s.ref_beats.push_back(read_beat_annotation(file));
      t = beat_frame_targets(s.ref_beats.back(), s.features.frames[i], fps, widen);
    } else {
      s.ref_chords.push_back(metrics::read_chord_lab(file));
      t = chord_frame_targets(s.ref_chords.back(), s.features.frames[i], fps);
    }
    y.insert(y.end(), t.begin(), t.end());
  }
  s.targets = torch::tensor(y, torch::kLong);
  return s;
}

// The head's float32 input from stored float16 rows (hand features standardised).
at::Tensor input_rows(const FrameData& d, const at::Tensor& x) {
  at::Tensor v = x.to(torch::kFloat);
  if (d.feature_mean.defined()) v = (v - d.feature_mean) / d.feature_std;
  return v;
}

at::Tensor forward_frames(ProbeHead& head, const FrameData& d, const FrameSplit& split) {
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> outs;
  const int64_t n = split.features.total();
  for (int64_t s = 0; s < n; s += kSliceFrames)
    outs.push_back(head->forward(input_rows(d, split.features.x.narrow(0, s, std::min<int64_t>(kSliceFrames, n - s)))));
  return torch::cat(outs, 0);
}

}  // namespace

FrameData load_frame_data(const TaskSpec& task, const ProbeDataset& data, const FrameCacheInfo& cache, int layer,
                          int beat_widen) {
  if (!is_frame_level(task.type)) throw Error(task.name + " is not a frame-level task");
  FrameData d;
  d.fps = cache.fps;
  d.outputs = static_cast<int64_t>(data.class_names.size());
  d.train = load_split(task, data, cache, "train", layer, d.fps, beat_widen);
  d.valid = load_split(task, data, cache, "valid", layer, d.fps, 0);
  d.test = load_split(task, data, cache, "test", layer, d.fps, 0);
  if (cache.num_hidden_layers == 0) {  // hand features: standardise per dimension
    frame_feature_stats(d.train.features, d.feature_mean, d.feature_std);
  }
  return d;
}

FrameEvaluation evaluate_frames(const TaskSpec& task, const ProbeDataset& data, const FrameData& d,
                                const FrameSplit& split, const at::Tensor& logits, const metrics::DbnBeatTracker& dbn) {
  FrameEvaluation ev;
  const auto& f = split.features;
  if (task.type == TaskType::Beat) {
    const at::Tensor p = torch::softmax(logits.to(torch::kFloat), 1).select(1, 1).contiguous();
    const float* pp = p.data_ptr<float>();
    std::vector<metrics::BeatTrack> tracks;
    for (size_t i = 0; i < split.items.size(); ++i) {
      const std::vector<float> act(pp + f.offset[i], pp + f.offset[i] + f.frames[i]);
      ev.beats.push_back(dbn.track(act).beats);
      tracks.push_back({split.ref_beats[i], ev.beats.back()});
    }
    const metrics::BeatScores s = metrics::beat(tracks);
    ev.metrics = {{"f_measure", s.f_measure},
                  {"precision", s.precision},
                  {"recall", s.recall},
                  {"mean_f_measure", s.mean_f_measure}};
    ev.monitor = s.f_measure;
  } else {
    const at::Tensor cls = logits.argmax(1).contiguous();
    const int64_t* cp = cls.data_ptr<int64_t>();
    std::vector<metrics::ChordTrack> tracks;
    for (size_t i = 0; i < split.items.size(); ++i) {
      const std::vector<int64_t> c(cp + f.offset[i], cp + f.offset[i] + f.frames[i]);
      ev.chords.push_back(frames_to_segments(c, d.fps, data.class_names));
      tracks.push_back({split.ref_chords[i], ev.chords.back()});
    }
    const metrics::ChordScores s = metrics::chord(tracks);
    ev.metrics = {{"majmin", s.majmin}, {"root", s.root}, {"majmin_mean", s.majmin_mean}, {"root_mean", s.root_mean}};
    ev.monitor = s.majmin;
  }
  return ev;
}

TrainedFramePoint train_frame_point(const TaskSpec& task, const ProbeDataset& data, const FrameData& d,
                                    const TrainSettings& s, int64_t crop_frames, const metrics::DbnBeatTracker& dbn) {
  const auto t0 = std::chrono::steady_clock::now();
  const uint64_t seed = point_seed(s.seed, s.lr, s.layer);
  at::Generator gen = at::detail::createCPUGenerator(seed);
  std::mt19937_64 rng(seed ^ 0x5851f42d4c957f2dull);

  const at::Tensor& x = d.train.features.x;
  const bool wsum = x.dim() == 3;
  if ((s.layer == kWeightedSum) != wsum) throw Error("frame features do not match the layer choice");
  ProbeHead head(x.size(-1), s.hidden, d.outputs, wsum ? x.size(1) : 0, s.dropout, gen);
  torch::optim::Adam opt(head->parameters(), torch::optim::AdamOptions(s.lr));
  EpochControl control(*head, opt, s.lr, s.plateau_patience, s.early_stop_patience);

  const auto& f = d.train.features;
  const auto n_items = static_cast<int64_t>(d.train.items.size());
  std::vector<int64_t> order(static_cast<size_t>(n_items));
  for (int64_t i = 0; i < n_items; ++i) order[static_cast<size_t>(i)] = i;

  TrainedFramePoint tp;
  for (int epoch = 1; epoch <= s.max_epochs; ++epoch) {
    head->train();
    shuffle_order(order, rng);
    bool finite = true;
    for (int64_t b = 0; b < n_items; b += s.batch_files) {
      std::vector<int64_t> rows;
      for (int64_t k = b; k < std::min(n_items, b + s.batch_files); ++k) {
        const auto item = static_cast<size_t>(order[static_cast<size_t>(k)]);
        const int64_t len = crop_frames > 0 ? std::min(crop_frames, f.frames[item]) : f.frames[item];
        const int64_t start = f.frames[item] > len ? static_cast<int64_t>(rng() % static_cast<uint64_t>(f.frames[item] - len + 1)) : 0;
        for (int64_t t = 0; t < len; ++t) rows.push_back(f.offset[item] + start + t);
      }
      const auto idx = torch::tensor(rows);
      const at::Tensor y = d.train.targets.index_select(0, idx);
      const int64_t scored = (y != kIgnoreFrame).sum().item<int64_t>();
      if (scored == 0) continue;  // nothing to learn from
      // The batch's mean loss, accumulated over slices of kSliceFrames frames: memory stays
      // bounded whatever the batch holds (64 items x 750 frames would keep ~1.5 GB of activations).
      opt.zero_grad();
      double batch_loss = 0;
      for (int64_t r = 0; r < idx.size(0); r += kSliceFrames) {
        const int64_t n = std::min<int64_t>(kSliceFrames, idx.size(0) - r);
        const auto out = head->forward(input_rows(d, x.index_select(0, idx.narrow(0, r, n))));
        const auto loss = F::cross_entropy(out, y.narrow(0, r, n), F::CrossEntropyFuncOptions().reduction(torch::kSum)) /
                          static_cast<double>(scored);
        loss.backward();
        batch_loss += loss.item<double>();
      }
      if (!std::isfinite(batch_loss)) {
        finite = false;
        break;
      }
      opt.step();
    }
    tp.result.epochs = epoch;
    if (!finite) break;  // diverged (large learning rates): keep the best epoch so far

    head->eval();
    const FrameEvaluation ev = evaluate_frames(task, data, d, d.valid, forward_frames(head, d, d.valid), dbn);
    if (control.after_epoch(epoch, ev.monitor)) break;
  }
  control.restore_best();
  tp.result.best_epoch = control.best_epoch();
  head->eval();
  tp.valid = evaluate_frames(task, data, d, d.valid, forward_frames(head, d, d.valid), dbn);
  tp.test = evaluate_frames(task, data, d, d.test, forward_frames(head, d, d.test), dbn);
  tp.result.lr = s.lr;
  tp.result.layer = s.layer;
  tp.result.valid = tp.valid.monitor;
  tp.result.test = tp.test.metrics;
  if (const auto mix = head->layer_mix(); mix.defined())
    for (int64_t l = 0; l < mix.size(0); ++l) tp.layer_mix.push_back(mix[l].item<double>());
  tp.result.train_sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return tp;
}

}  // namespace mert::probe
