#include "probe/stems_head.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <random>

#include "io/atomic_file.h"
#include "mert/audio.h"
#include "mert/error.h"
#include "mert/metrics.h"
#include "probe/epoch_schedule.h"
#include "probe/readers.h"

namespace mert::probe {
namespace fs = std::filesystem;
namespace {

constexpr double kLstmDropout = 0.4;
constexpr size_t kSliceSegments = 4;
constexpr double kWienerEps = 1e-10;   // norbert / Open-Unmix
constexpr double kWienerScale = 10.0;  // Open-Unmix's scale_factor

at::Tensor hann() { return torch::hann_window(kStemsFft, torch::TensorOptions().dtype(torch::kFloat)); }

// Complex STFT, [T, F]: centred (reflect padding) for whole tracks.
at::Tensor stft_centred(const at::Tensor& x, int64_t hop) {
  return torch::stft(x, kStemsFft, hop, kStemsFft, hann(), /*center=*/true, "reflect", /*normalized=*/false,
                     /*onesided=*/true, /*return_complex=*/true)
      .transpose(-1, -2);
}

// Magnitudes of zero-padded slices [..., (frames - 1) * hop + n_fft] without centring: frame t
// of a slice starting at sample t0 * hop of the padded track is frame t0 + t of the track's STFT
// (with zero instead of reflect padding at the track's two ends).
at::Tensor stft_magnitude_uncentred(const at::Tensor& x, int64_t hop) {
  return torch::stft(x, kStemsFft, hop, kStemsFft, hann(), /*center=*/false, "reflect", false, true, true)
      .abs()
      .transpose(-1, -2);
}

void init_uniform(const at::Tensor& p, double bound, at::Generator& gen) {
  torch::NoGradGuard g;
  p.uniform_(-bound, bound, gen);
}

std::vector<float> to_vector(const at::Tensor& t) {
  const at::Tensor c = t.to(torch::kFloat).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

at::Tensor input_of(const StemsData& d, const at::Tensor& x) {
  at::Tensor v = x.to(torch::kFloat);
  if (d.feature_mean.defined()) v = (v - d.feature_mean) / d.feature_std;
  return v;
}

StemsSplit load_split(const ProbeDataset& data, const FrameCacheInfo& cache, const std::string& split, int layer,
                      bool keep_audio) {
  StemsSplit s;
  for (const auto& it : data.items)
    if (it.split == split && std::find(cache.failed_ids.begin(), cache.failed_ids.end(), it.id) == cache.failed_ids.end())
      s.items.push_back(&it);
  if (s.items.empty()) throw Error("the " + split + " split has no usable items");
  s.features = load_frame_features(cache, s.items, layer);
  if (keep_audio)
    for (const auto* it : s.items) {
      const StemsTrack t = load_stems_track(*it, cache.sample_rate);
      const at::Tensor all = torch::cat({t.mix.unsqueeze(0), t.targets}, 0);
      s.padded_audio.push_back(torch::constant_pad_nd(all, {kStemsFft / 2, kStemsFft / 2}).to(torch::kHalf));
      s.samples.push_back(t.mix.size(0));
    }
  return s;
}

// An item's features at STFT frame rate, float32 and standardised.
at::Tensor item_features(const StemsData& d, const StemsSplit& s, size_t i, int64_t frames) {
  return input_of(d, features_to_stft_frames(s.features.x.narrow(0, s.features.offset[i], s.features.frames[i]), frames));
}

}  // namespace

StemsHeadImpl::StemsHeadImpl(int64_t dim, int64_t hidden, int64_t bins, int64_t targets, int64_t weighted_layers,
                             at::Generator gen)
    : targets_(targets), bins_(bins), gen_(std::move(gen)) {
  namespace nn = torch::nn;
  if (weighted_layers > 0)
    layer_weights_ = register_parameter("layer_weights", at::randn({weighted_layers}, gen_, torch::kFloat));
  fc1_ = register_module("fc1", nn::Linear(nn::LinearOptions(dim, hidden).bias(false)));
  bn1_ = register_module("bn1", nn::BatchNorm1d(hidden));
  for (int k = 0; k < 3; ++k)
    lstm_.push_back(register_module("lstm" + std::to_string(k), nn::LSTM(nn::LSTMOptions(hidden, hidden).batch_first(true))));
  fc2_ = register_module("fc2", nn::Linear(nn::LinearOptions(2 * hidden, hidden).bias(false)));
  bn2_ = register_module("bn2", nn::BatchNorm1d(hidden));
  fc3_ = register_module("fc3", nn::Linear(nn::LinearOptions(hidden, targets * bins).bias(false)));
  bn3_ = register_module("bn3", nn::BatchNorm1d(targets * bins));
  out_scale_ = register_parameter("out_scale", torch::ones({targets, bins}));
  out_mean_ = register_parameter("out_mean", torch::ones({targets, bins}));
  // PyTorch's default bounds (1/sqrt(fan_in) for Linear, 1/sqrt(hidden) for LSTM), drawn from
  // the head's own generator rather than the global one, so that heads trained at once on
  // different threads are each deterministic.
  init_uniform(fc1_->weight, 1.0 / std::sqrt(static_cast<double>(dim)), gen_);
  init_uniform(fc2_->weight, 1.0 / std::sqrt(static_cast<double>(2 * hidden)), gen_);
  init_uniform(fc3_->weight, 1.0 / std::sqrt(static_cast<double>(hidden)), gen_);
  for (auto& l : lstm_)
    for (auto& p : l->parameters()) init_uniform(p, 1.0 / std::sqrt(static_cast<double>(hidden)), gen_);
}

torch::Tensor StemsHeadImpl::forward(const torch::Tensor& x, const torch::Tensor& mix_mag) {
  const int64_t B = x.size(0), T = x.size(1);
  torch::Tensor h = layer_weights_.defined() ? torch::einsum("l,btld->btd", {torch::softmax(layer_weights_, 0), x}) : x;
  h = fc1_(h);
  const int64_t H = h.size(2);
  h = torch::tanh(bn1_(h.reshape({B * T, H})).reshape({B, T, H}));
  torch::Tensor l = h;
  for (size_t k = 0; k < lstm_.size(); ++k) {
    l = std::get<0>(lstm_[k]->forward(l));
    if (k + 1 < lstm_.size() && is_training()) {  // inverted dropout between LSTM layers
      const auto keep = torch::empty_like(l).bernoulli_(1.0 - kLstmDropout, gen_);
      l = l * keep / (1.0 - kLstmDropout);
    }
  }
  torch::Tensor c = fc2_(torch::cat({h, l}, 2));
  c = torch::relu(bn2_(c.reshape({B * T, H})).reshape({B, T, H}));
  torch::Tensor o = bn3_(fc3_(c).reshape({B * T, targets_ * bins_})).reshape({B, T, targets_, bins_});
  o = torch::relu(o * out_scale_ + out_mean_) * mix_mag.unsqueeze(2);
  return o.permute({0, 2, 1, 3});
}

torch::Tensor StemsHeadImpl::layer_mix() const {
  return layer_weights_.defined() ? torch::softmax(layer_weights_.detach(), 0) : torch::Tensor();
}

StemsTrack load_stems_track(const ProbeItem& item, int64_t sample_rate) {
  StemsTrack t;
  t.item = &item;
  const Audio mix = decode_audio(item.path, sample_rate);
  t.mix = torch::tensor(mix.samples, torch::kFloat);
  std::vector<at::Tensor> targets;
  for (const auto& name : stem_target_names()) {
    const std::string path = stem_file(item.annotation, name);
    const Audio a = decode_audio(path, sample_rate);
    if (a.samples.size() != mix.samples.size())
      throw Error(path + ": " + std::to_string(a.samples.size()) + " samples at " + std::to_string(sample_rate) +
                  " Hz, the mixture " + item.path + " has " + std::to_string(mix.samples.size()));
    targets.push_back(torch::tensor(a.samples, torch::kFloat));
  }
  t.targets = torch::stack(targets, 0);
  return t;
}

int64_t stft_frames(int64_t samples, int64_t hop) { return 1 + samples / hop; }

at::Tensor features_to_stft_frames(const at::Tensor& x, int64_t frames) {
  if (x.size(0) >= frames) return x.narrow(0, 0, frames);
  if (x.size(0) == 0) throw Error("an item has no feature frames");
  std::vector<int64_t> reps(static_cast<size_t>(x.dim()), 1);
  reps[0] = frames - x.size(0);
  return torch::cat({x, x.narrow(0, x.size(0) - 1, 1).repeat(reps)}, 0);
}

at::Tensor wiener_mono(const at::Tensor& magnitudes, const at::Tensor& mix, int64_t block) {
  const int64_t J = magnitudes.size(0), T = mix.size(0);
  const at::Tensor phase = torch::polar(torch::ones_like(mix.abs()), torch::angle(mix));
  at::Tensor y = magnitudes.to(torch::kFloat) * phase.unsqueeze(0);  // [J, T, F] complex
  y = torch::cat({y, (mix - y.sum(0)).unsqueeze(0)}, 0);              // + the residual
  const double max_abs = std::max(1.0, mix.abs().max().item<double>() / kWienerScale);
  const at::Tensor x = mix / max_abs;
  y = y / max_abs;
  at::Tensor out = torch::empty_like(y);
  for (int64_t t0 = 0; t0 < T; t0 += block) {
    const int64_t n = std::min(block, T - t0);
    const at::Tensor yb = y.narrow(1, t0, n);
    const at::Tensor v = yb.abs().square();                                     // [J+1, n, F]
    const at::Tensor R = v.sum(1, true) / (kWienerEps + v.sum(1, true));        // [J+1, 1, F]
    const at::Tensor vr = v * R;
    const at::Tensor gain = vr / (vr.sum(0, true) + std::sqrt(kWienerEps));
    out.narrow(1, t0, n).copy_(gain * x.narrow(0, t0, n).unsqueeze(0));
  }
  return (out * max_abs).narrow(0, 0, J);
}

StemsData load_stems_data(const ProbeDataset& data, const FrameCacheInfo& cache, int layer, bool train_audio) {
  StemsData d;
  d.sample_rate = cache.sample_rate;
  d.hop = static_cast<int64_t>(std::llround(static_cast<double>(cache.sample_rate) / cache.fps));
  d.train = load_split(data, cache, "train", layer, train_audio);
  d.valid = load_split(data, cache, "valid", layer, false);
  d.test = load_split(data, cache, "test", layer, false);
  if (cache.num_hidden_layers == 0) {
    frame_feature_stats(d.train.features, d.feature_mean, d.feature_std);
  }
  return d;
}

std::map<std::string, double> evaluate_stems(StemsHead& head, const StemsData& d, const StemsSplit& split,
                                             const std::string& write_dir) {
  torch::NoGradGuard no_grad;
  head->eval();
  const auto& names = stem_target_names();
  std::vector<std::vector<double>> sdr(names.size());
  for (size_t i = 0; i < split.items.size(); ++i) {
    const StemsTrack t = load_stems_track(*split.items[i], d.sample_rate);
    const int64_t n = t.mix.size(0);
    const at::Tensor X = stft_centred(t.mix, d.hop);  // [T, F]
    const at::Tensor mags = head->forward(item_features(d, split, i, X.size(0)).unsqueeze(0), X.abs().unsqueeze(0))[0];
    const at::Tensor Y = wiener_mono(mags, X);  // [J, T, F]
    const at::Tensor est = torch::istft(Y.transpose(1, 2), kStemsFft, d.hop, kStemsFft, hann(), /*center=*/true,
                                        /*normalized=*/false, /*onesided=*/true, n);
    for (size_t j = 0; j < names.size(); ++j) {
      const std::vector<float> e = to_vector(est[static_cast<int64_t>(j)]), r = to_vector(t.targets[static_cast<int64_t>(j)]);
      sdr[j].push_back(metrics::global_sdr(r, e));
      if (!write_dir.empty()) {
        const std::string id = split.items[i]->id;
        for (const char* sub : {"test_estimates", "test_reference"}) fs::create_directories(write_dir + "/" + sub + "/" + id);
        write_wav_f32(write_dir + "/test_estimates/" + id + "/" + names[j] + ".wav", e, d.sample_rate);
        write_wav_f32(write_dir + "/test_reference/" + id + "/" + names[j] + ".wav", r, d.sample_rate);
      }
    }
  }
  std::map<std::string, double> m, means;  // means by source name: summed in `mert metrics sdr`'s order
  for (size_t j = 0; j < names.size(); ++j) {
    const metrics::SdrSummary s = metrics::summarize_sdr(sdr[j]);
    m["sdr_" + names[j]] = means[names[j]] = s.mean;
    m["sdr_median_" + names[j]] = s.median;
  }
  double mean_of_means = 0;
  for (const auto& kv : means) mean_of_means += kv.second;
  m["sdr"] = mean_of_means / static_cast<double>(names.size());
  return m;
}

StemsHead make_stems_head(const StemsData& d, const TrainSettings& s) {
  const at::Tensor& x = d.train.features.x;
  const bool wsum = x.dim() == 3;
  return StemsHead(x.size(-1), s.hidden, kStemsFft / 2 + 1, static_cast<int64_t>(stem_target_names().size()),
                   wsum ? x.size(1) : 0, at::detail::createCPUGenerator(point_seed(s.seed, s.lr, s.layer)));
}

TrainedStemsPoint train_stems_point(const StemsData& d, const TrainSettings& s, const StemsSettings& st) {
  const auto t0 = std::chrono::steady_clock::now();
  std::mt19937_64 rng(point_seed(s.seed, s.lr, s.layer) ^ 0x5851f42d4c957f2dull);
  if ((s.layer == kWeightedSum) != (d.train.features.x.dim() == 3))
    throw Error("frame features do not match the layer choice");
  StemsHead head = make_stems_head(d, s);
  torch::optim::Adam opt(head->parameters(), torch::optim::AdamOptions(s.lr));
  EpochControl control(*head, opt, s.lr, s.plateau_patience, s.early_stop_patience);
  const int64_t seg_frames = std::max<int64_t>(1, std::llround(st.segment_sec * static_cast<double>(d.sample_rate) / static_cast<double>(d.hop)));
  const auto n_tracks = static_cast<int64_t>(d.train.items.size());

  TrainedStemsPoint tp;
  for (int epoch = 1; epoch <= s.max_epochs; ++epoch) {
    head->train();
    // This epoch's segments: segments_per_track of every track, shuffled, then cut into batches.
    std::vector<std::pair<int64_t, int64_t>> segs;  // (track, first frame)
    for (int64_t i = 0; i < n_tracks; ++i) {
      const int64_t frames = stft_frames(d.train.samples[static_cast<size_t>(i)], d.hop);
      const int64_t len = std::min(seg_frames, frames);
      for (int k = 0; k < st.segments_per_track; ++k)
        segs.emplace_back(i, static_cast<int64_t>(rng() % static_cast<uint64_t>(frames - len + 1)));
    }
    for (size_t i = segs.size(); i > 1; --i) std::swap(segs[i - 1], segs[static_cast<size_t>(rng() % i)]);
    bool finite = true;
    for (size_t b = 0; b < segs.size(); b += static_cast<size_t>(st.batch)) {
      const size_t e = std::min(segs.size(), b + static_cast<size_t>(st.batch));
      // Segments of one batch share a length: the shortest track's, when one is shorter than a segment.
      int64_t len = seg_frames;
      for (size_t k = b; k < e; ++k) len = std::min(len, stft_frames(d.train.samples[static_cast<size_t>(segs[k].first)], d.hop));
      // The batch's mean loss over slices of kSliceSegments segments, gradients accumulated: a
      // segment's 4 x 1025 output bins per frame would otherwise hold ~3 GB of activations for a
      // batch of 16. (Batch norm sees a slice at a time.)
      opt.zero_grad();
      double batch_loss = 0;
      for (size_t s0 = b; s0 < e; s0 += kSliceSegments) {
        const size_t s1 = std::min(e, s0 + kSliceSegments);
        std::vector<at::Tensor> feats, audio;
        for (size_t k = s0; k < s1; ++k) {
          const auto i = static_cast<size_t>(segs[k].first);
          const int64_t start = std::min(segs[k].second, stft_frames(d.train.samples[i], d.hop) - len);
          feats.push_back(item_features(d, d.train, i, stft_frames(d.train.samples[i], d.hop)).narrow(0, start, len));
          audio.push_back(d.train.padded_audio[i].narrow(1, start * d.hop, (len - 1) * d.hop + kStemsFft).to(torch::kFloat));
        }
        const auto n = static_cast<int64_t>(s1 - s0);
        const at::Tensor mags = stft_magnitude_uncentred(torch::stack(audio, 0).reshape({-1, audio[0].size(1)}), d.hop)
                                    .reshape({n, audio[0].size(0), len, kStemsFft / 2 + 1});
        const at::Tensor mix_mag = mags.select(1, 0), target_mag = mags.narrow(1, 1, mags.size(1) - 1);
        const auto loss = torch::mse_loss(head->forward(torch::stack(feats, 0), mix_mag), target_mag) *
                          (static_cast<double>(n) / static_cast<double>(e - b));
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
    if (!finite) break;
    if (control.after_epoch(epoch, evaluate_stems(head, d, d.valid).at("sdr"))) break;
  }
  control.restore_best();
  tp.result.best_epoch = control.best_epoch();
  tp.result.lr = s.lr;
  tp.result.layer = s.layer;
  tp.result.valid = evaluate_stems(head, d, d.valid).at("sdr");
  tp.result.test = evaluate_stems(head, d, d.test);
  if (const auto mix = head->layer_mix(); mix.defined())
    for (int64_t l = 0; l < mix.size(0); ++l) tp.layer_mix.push_back(mix[l].item<double>());
  tp.head = head;
  tp.result.train_sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return tp;
}

}  // namespace mert::probe
