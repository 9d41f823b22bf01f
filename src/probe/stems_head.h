#pragma once
// The source separation probe (MARBLE's MUSDB18 task, §2.6 of reference/marble-protocol.md): an
// Open-Unmix-style head turns frame features into magnitude spectrograms of the four targets
// (a mask on the mixture's STFT, n_fft 2048, hop = the model's frame hop, so one STFT frame per
// model frame), a Wiener post-filter with the residual as a fifth source turns them into complex
// spectrograms, the inverse STFT into audio, and the score is MDX 2021's global SDR per target.
// Mono throughout: MERT hears the mono downmix, and the targets are separated as mono too.
#include <ATen/core/Generator.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/rnn.h>

#include <map>
#include <string>
#include <vector>

#include "probe/frame_cache.h"
#include "probe/train_head.h"

namespace mert::probe {

constexpr int64_t kStemsFft = 2048;

// fc1 (no bias) -> BN -> tanh -> 3 LSTM layers (unidirectional, as MARBLE's code; dropout 0.4
// between them) -> [fc1 out, LSTM out] -> fc2 (no bias) -> BN -> ReLU -> fc3 (no bias, one
// block of bins per target) -> BN -> learned scale and offset per bin -> ReLU -> x mixture
// magnitude. Every parameter and dropout mask comes from the head's generator.
class StemsHeadImpl : public torch::nn::Module {
 public:
  StemsHeadImpl(int64_t dim, int64_t hidden, int64_t bins, int64_t targets, int64_t weighted_layers, at::Generator gen);
  // x [B, T, D] (or [B, T, L, D] with weighted_layers), mix_mag [B, T, F] -> [B, targets, T, F].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mix_mag);
  torch::Tensor layer_mix() const;

 private:
  int64_t targets_, bins_;
  torch::Tensor layer_weights_, out_scale_, out_mean_;
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr}, fc3_{nullptr};
  torch::nn::BatchNorm1d bn1_{nullptr}, bn2_{nullptr}, bn3_{nullptr};
  std::vector<torch::nn::LSTM> lstm_;
  at::Generator gen_;
};
TORCH_MODULE(StemsHead);

// A track in memory: mono audio at the model's rate.
struct StemsTrack {
  const ProbeItem* item = nullptr;
  at::Tensor mix;      // float32 [n]
  at::Tensor targets;  // float32 [targets, n]
};
// Decodes an item's mixture and target stems (throws mert::Error naming a file whose length
// differs from the mixture's).
StemsTrack load_stems_track(const ProbeItem& item, int64_t sample_rate);

// STFT frames of n samples (centred, hop): 1 + n / hop.
int64_t stft_frames(int64_t samples, int64_t hop);
// Features of one item brought to the STFT's frame count: cut, or padded by repeating the last frame.
at::Tensor features_to_stft_frames(const at::Tensor& x, int64_t frames);

// The Wiener post-filter of Open-Unmix / norbert for one channel: the head's magnitudes take the
// mixture's phase, the residual (mixture minus their sum) joins as a source, and one EM
// iteration re-estimates every source as (v_j R_j / (sum_k v_k R_k + sqrt(eps))) x mixture, with
// v_j = |y_j|^2 and R_j its normalised power per bin over blocks of `block` frames.
// magnitudes [targets, T, F], mix [T, F] complex -> [targets, T, F] complex.
at::Tensor wiener_mono(const at::Tensor& magnitudes, const at::Tensor& mix, int64_t block = 600);

struct StemsSettings {
  double segment_sec = 6;      // training segments (MARBLE: random 6 s)
  int segments_per_track = 64; // per training track and epoch (MARBLE: 64)
  int batch = 16;              // segments per step
};

// One split at one layer choice. Training tracks are held in memory (float16, zero-padded by
// n_fft / 2 at both ends so that any segment's STFT frames are the full track's); validation and
// test tracks are decoded when scored, one at a time, so that long test sets fit.
struct StemsSplit {
  std::vector<const ProbeItem*> items;
  FrameFeatures features;
  std::vector<at::Tensor> padded_audio;  // train: float16 [1 + targets, n + n_fft] (mixture first)
  std::vector<int64_t> samples;          // train: n per track
};
struct StemsData {
  StemsSplit train, valid, test;
  int64_t sample_rate = 24000, hop = 320;
  at::Tensor feature_mean, feature_std;  // hand features only
};
// train_audio false: the training split's features only (enough to make a head and score).
StemsData load_stems_data(const ProbeDataset& data, const FrameCacheInfo& cache, int layer, bool train_audio);

// Separates and scores every track of a split (decoded one at a time); `write_dir` non-empty:
// also writes <write_dir>/test_estimates/<id>/<target>.wav and test_reference/<id>/<target>.wav
// (float32 WAV, mono, at the model's rate: `mert metrics sdr` on them gives the same numbers).
std::map<std::string, double> evaluate_stems(StemsHead& head, const StemsData& d, const StemsSplit& split,
                                             const std::string& write_dir = "");

struct TrainedStemsPoint {
  PointResult result;
  std::vector<double> layer_mix;
  StemsHead head{nullptr};  // the best epoch's weights
};
TrainedStemsPoint train_stems_point(const StemsData& d, const TrainSettings& s, const StemsSettings& st);
// A head of the shape train_stems_point makes for `d` (to load saved weights into).
StemsHead make_stems_head(const StemsData& d, const TrainSettings& s);

}  // namespace mert::probe
