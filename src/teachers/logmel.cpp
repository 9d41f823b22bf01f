// Log-mel spectrogram: torchaudio.transforms.MelSpectrogram(center=True, pad_mode="constant",
// window=hann_window(win_length) (periodic), norm=None, mel_scale="htk") then log(mel + offset).
//
// Per frame: gather n_fft samples around j*hop (zeros outside the signal), multiply by the Hann
// window (centred in the n_fft frame when win_length < n_fft, as torch.stft does), real FFT,
// |X|^power, sparse mel filterbank, log. Everything after the FFT is accumulated in double.
#include "mert/logmel.h"

#include <cmath>
#include <string>
#include <vector>

#include "mert/error.h"
#include "teachers/fft.h"
#include "teachers/mel_filterbank.h"

namespace mert {

void LogMelConfig::validate() const {
  auto fail = [](const std::string& what) { throw Error("log-mel config: " + what); };
  if (!(sample_rate > 0.0) || !std::isfinite(sample_rate)) fail("sample_rate must be positive");
  if (n_fft < 2 || n_fft > (int64_t{1} << 24)) fail("n_fft must be in [2, 2^24], got " + std::to_string(n_fft));
  if (win_length < 1 || win_length > n_fft)
    fail("win_length must be in [1, n_fft=" + std::to_string(n_fft) + "], got " + std::to_string(win_length));
  if (hop < 1) fail("hop must be positive, got " + std::to_string(hop));
  if (n_mels < 1) fail("n_mels must be positive, got " + std::to_string(n_mels));
  if (!(f_min >= 0.0) || !(f_max > f_min) || !(f_max <= sample_rate / 2.0))
    fail("need 0 <= f_min < f_max <= sample_rate/2, got f_min=" + std::to_string(f_min) +
         " f_max=" + std::to_string(f_max) + " sample_rate=" + std::to_string(sample_rate));
  if (!(power > 0.0) || !std::isfinite(power)) fail("power must be positive");
  if (!(log_offset > 0.0) || !std::isfinite(log_offset)) fail("log_offset must be positive");
}

struct LogMel::Impl {
  LogMelConfig cfg;
  fft::RealForward fft;
  int64_t win_begin;           // first nonzero window position inside the n_fft frame
  std::vector<float> window;   // win_length values (periodic Hann)
  mel::SparseFilterbank bank;  // [n_mels, n_fft/2 + 1]
  std::vector<double> spectrum, mel;

  explicit Impl(const LogMelConfig& c)
      : cfg(c), fft(static_cast<int>(c.n_fft)), win_begin((c.n_fft - c.win_length) / 2) {
    const int64_t wl = cfg.win_length;
    window.resize(static_cast<size_t>(wl));
    // torch.hann_window(wl, periodic=True): 0.5 - 0.5 cos(2 pi i / wl)
    for (int64_t i = 0; i < wl; ++i)
      window[i] = static_cast<float>(0.5 - 0.5 * std::cos(2.0 * M_PI * static_cast<double>(i) / static_cast<double>(wl)));
    const int64_t n_freqs = cfg.n_fft / 2 + 1;
    bank = mel::htk_mel_filterbank(n_freqs, cfg.sample_rate, cfg.f_min, cfg.f_max, cfg.n_mels);
    spectrum.resize(static_cast<size_t>(n_freqs));
    mel.resize(static_cast<size_t>(cfg.n_mels));
  }
};

LogMel::LogMel(const LogMelConfig& cfg) {
  cfg.validate();
  impl_ = std::make_unique<Impl>(cfg);
}

LogMel::~LogMel() = default;

const LogMelConfig& LogMel::config() const { return impl_->cfg; }

int64_t LogMel::num_frames(int64_t num_samples) const {
  if (num_samples < 0) throw Error("log-mel: negative number of samples");
  const LogMelConfig& c = impl_->cfg;
  const int64_t padded = num_samples + (c.center ? 2 * (c.n_fft / 2) : 0);
  if (padded < c.n_fft) return 0;
  return 1 + (padded - c.n_fft) / c.hop;
}

double LogMel::frame_center(int64_t frame) const {
  const LogMelConfig& c = impl_->cfg;
  return static_cast<double>(frame) * static_cast<double>(c.hop) +
         (c.center ? 0.0 : static_cast<double>(c.n_fft) / 2.0);
}

FeatureMatrix LogMel::compute(const float* x, int64_t n) {
  if (n > 0 && x == nullptr) throw Error("log-mel: null input");
  Impl& im = *impl_;
  const LogMelConfig& c = im.cfg;
  const int64_t frames = num_frames(n);
  FeatureMatrix out(frames, c.n_mels);
  const int64_t pad = c.center ? c.n_fft / 2 : 0;
  const int64_t n_freqs = c.n_fft / 2 + 1;
  float* in = im.fft.input();
  // Outside [win_begin, win_begin + win_length) the windowed frame is always zero.
  for (int64_t i = 0; i < c.n_fft; ++i) in[i] = 0.0f;
  const bool power2 = c.power == 2.0, power1 = c.power == 1.0;
  const double half_power = c.power / 2.0;

  for (int64_t j = 0; j < frames; ++j) {
    // Signal index of window sample i is start + i.
    const int64_t start = j * c.hop - pad + im.win_begin;
    const float* w = im.window.data();
    float* dst = in + im.win_begin;
    if (start >= 0 && start + c.win_length <= n) {
      const float* src = x + start;
      for (int64_t i = 0; i < c.win_length; ++i) dst[i] = src[i] * w[i];
    } else {
      for (int64_t i = 0; i < c.win_length; ++i) {
        const int64_t idx = start + i;
        dst[i] = (idx >= 0 && idx < n) ? x[idx] * w[i] : 0.0f;
      }
    }
    im.fft.run();
    const std::complex<float>* X = im.fft.output();
    for (int64_t k = 0; k < n_freqs; ++k) {
      const double re = X[k].real(), imag = X[k].imag();
      const double p2 = re * re + imag * imag;
      im.spectrum[k] = power2 ? p2 : power1 ? std::sqrt(p2) : std::pow(p2, half_power);
    }
    im.bank.apply(im.spectrum.data(), im.mel.data());
    float* row = out.row(j);
    for (int64_t m = 0; m < c.n_mels; ++m) row[m] = static_cast<float>(std::log(im.mel[m] + c.log_offset));
  }
  return out;
}

}  // namespace mert
