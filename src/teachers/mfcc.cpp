// Kaldi-compatible MFCC (torchaudio.compliance.kaldi.mfcc defaults, dither 0, use_energy=False)
// plus torchaudio.functional.compute_deltas deltas and delta-deltas (window 5, replicate padding),
// i.e. HuBERT's dump_mfcc_feature.py.
//
// Per frame (snip_edges framing, window_size = int(sr * frame_length_ms * 0.001) samples every
// int(sr * frame_shift_ms * 0.001)): remove the frame mean, pre-emphasise (x[i] -= p x[i-1],
// x[0] -= p x[0]), multiply by the Povey window (symmetric Hann ^ 0.85), zero-pad to the next
// power of two, real FFT, |X|^2, Kaldi mel filterbank, log(max(e, FLT_EPSILON)), orthonormal
// DCT-II keeping num_ceps (c0 weighted by sqrt(1/num_mel_bins)), lifter 1 + L/2 sin(pi i / L).
#include "mert/mfcc.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "mert/error.h"
#include "teachers/fft.h"
#include "teachers/mel_filterbank.h"

namespace mert {
namespace {

struct Framing {
  int64_t window = 0;   // samples per frame
  int64_t shift = 0;    // samples between frames
  int64_t padded = 0;   // FFT size (next power of two >= window)
};

Framing framing(const MfccConfig& c) {
  Framing f;
  // Python's int(sample_frequency * frame_length * 0.001): truncation, same evaluation order.
  f.window = static_cast<int64_t>(c.sample_rate * c.frame_length_ms * 0.001);
  f.shift = static_cast<int64_t>(c.sample_rate * c.frame_shift_ms * 0.001);
  f.padded = 1;
  while (f.padded < f.window) f.padded *= 2;
  return f;
}

constexpr int64_t kDeltaHalfWindow = 2;  // compute_deltas(win_length=5)

// torchaudio.functional.compute_deltas along time for columns [src, src + n) of m, written to
// columns [dst, dst + n): d_t = sum_{k=1..N} k (c_{t+k} - c_{t-k}) / (2 sum k^2), replicate pad.
void deltas(FeatureMatrix& m, int64_t src, int64_t dst, int64_t n) {
  const int64_t T = m.rows;
  const int64_t N = kDeltaHalfWindow;
  const double denom = static_cast<double>(N * (N + 1) * (2 * N + 1)) / 3.0;
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t d = 0; d < n; ++d) {
      double acc = 0.0;
      for (int64_t k = 1; k <= N; ++k) {
        const int64_t after = std::min(t + k, T - 1), before = std::max(t - k, int64_t{0});
        acc += static_cast<double>(k) * (static_cast<double>(m.at(after, src + d)) -
                                         static_cast<double>(m.at(before, src + d)));
      }
      m.at(t, dst + d) = static_cast<float>(acc / denom);
    }
  }
}

}  // namespace

void MfccConfig::validate() const {
  auto fail = [](const std::string& what) { throw Error("MFCC config: " + what); };
  if (!(sample_rate > 0.0) || !std::isfinite(sample_rate)) fail("sample_rate must be positive");
  if (!(frame_length_ms > 0.0) || !std::isfinite(frame_length_ms)) fail("frame_length_ms must be positive");
  if (!(frame_shift_ms > 0.0) || !std::isfinite(frame_shift_ms)) fail("frame_shift_ms must be positive");
  const double window = sample_rate * frame_length_ms * 0.001;
  if (window > double(1 << 24)) fail("frame length too long");
  const Framing f = framing(*this);
  if (f.window < 2)
    fail("frame of " + std::to_string(frame_length_ms) + " ms is " + std::to_string(f.window) +
         " samples at " + std::to_string(sample_rate) + " Hz; need at least 2");
  if (f.shift < 1)
    fail("frame shift of " + std::to_string(frame_shift_ms) + " ms is less than one sample");
  if (num_mel_bins <= 3) fail("num_mel_bins must be > 3, got " + std::to_string(num_mel_bins));
  if (num_ceps < 1 || num_ceps > num_mel_bins)
    fail("num_ceps must be in [1, num_mel_bins=" + std::to_string(num_mel_bins) + "], got " +
         std::to_string(num_ceps));
  if (!(preemphasis >= 0.0 && preemphasis <= 1.0)) fail("preemphasis must be in [0, 1]");
  if (!(cepstral_lifter >= 0.0) || !std::isfinite(cepstral_lifter)) fail("cepstral_lifter must be >= 0");
  const double nyquist = 0.5 * sample_rate;
  const double high = high_freq <= 0.0 ? high_freq + nyquist : high_freq;
  if (!(low_freq >= 0.0 && low_freq < nyquist && high > 0.0 && high <= nyquist && low_freq < high))
    fail("bad mel range: low_freq " + std::to_string(low_freq) + " and high_freq " +
         std::to_string(high_freq) + " vs Nyquist " + std::to_string(nyquist));
}

struct Mfcc::Impl {
  MfccConfig cfg;
  Framing fr;
  fft::RealForward fft;
  std::vector<double> window;     // Povey window, fr.window values
  mel::SparseFilterbank bank;     // [num_mel_bins, padded/2 + 1]
  std::vector<double> dct;        // [num_ceps, num_mel_bins], lifter folded in
  std::vector<double> frame, spectrum, logmel;

  Impl(const MfccConfig& c, const Framing& f) : cfg(c), fr(f), fft(static_cast<int>(f.padded)) {
    const int64_t W = fr.window;
    window.resize(static_cast<size_t>(W));
    // torch.hann_window(W, periodic=False).pow(0.85)
    for (int64_t i = 0; i < W; ++i) {
      const double hann = 0.5 - 0.5 * std::cos(2.0 * M_PI * static_cast<double>(i) / static_cast<double>(W - 1));
      window[i] = std::pow(hann, 0.85);
    }
    bank = mel::kaldi_mel_filterbank(cfg.num_mel_bins, fr.padded, cfg.sample_rate, cfg.low_freq, cfg.high_freq);
    const int64_t M = cfg.num_mel_bins, C = cfg.num_ceps;
    dct.resize(static_cast<size_t>(C * M));
    for (int64_t k = 0; k < C; ++k) {
      const double lifter =
          cfg.cepstral_lifter != 0.0
              ? 1.0 + 0.5 * cfg.cepstral_lifter * std::sin(M_PI * static_cast<double>(k) / cfg.cepstral_lifter)
              : 1.0;
      for (int64_t m = 0; m < M; ++m) {
        const double basis =
            k == 0 ? std::sqrt(1.0 / static_cast<double>(M))
                   : std::sqrt(2.0 / static_cast<double>(M)) *
                         std::cos(M_PI / static_cast<double>(M) * (static_cast<double>(m) + 0.5) * static_cast<double>(k));
        dct[k * M + m] = basis * lifter;
      }
    }
    frame.resize(static_cast<size_t>(W));
    spectrum.resize(static_cast<size_t>(fr.padded / 2 + 1));
    logmel.resize(static_cast<size_t>(M));
  }
};

Mfcc::Mfcc(const MfccConfig& cfg) {
  cfg.validate();
  impl_ = std::make_unique<Impl>(cfg, framing(cfg));
}

Mfcc::~Mfcc() = default;

const MfccConfig& Mfcc::config() const { return impl_->cfg; }

int64_t Mfcc::dim() const { return impl_->cfg.deltas ? 3 * impl_->cfg.num_ceps : impl_->cfg.num_ceps; }

int64_t Mfcc::num_frames(int64_t num_samples) const {
  if (num_samples < 0) throw Error("MFCC: negative number of samples");
  const Framing& f = impl_->fr;
  if (num_samples < f.window) return 0;
  return 1 + (num_samples - f.window) / f.shift;
}

double Mfcc::frame_center(int64_t frame) const {
  const Framing& f = impl_->fr;
  return static_cast<double>(frame) * static_cast<double>(f.shift) + static_cast<double>(f.window) / 2.0;
}

FeatureMatrix Mfcc::compute(const float* x, int64_t n) {
  if (n > 0 && x == nullptr) throw Error("MFCC: null input");
  Impl& im = *impl_;
  const MfccConfig& c = im.cfg;
  const int64_t W = im.fr.window, P = im.fr.padded;
  const int64_t M = c.num_mel_bins, C = c.num_ceps;
  const int64_t frames = num_frames(n);
  FeatureMatrix out(frames, dim());
  const double eps = static_cast<double>(std::numeric_limits<float>::epsilon());
  float* in = im.fft.input();
  double* fb = im.frame.data();
  const int64_t n_freqs = P / 2 + 1;

  for (int64_t j = 0; j < frames; ++j) {
    const float* src = x + j * im.fr.shift;
    double mean = 0.0;
    for (int64_t i = 0; i < W; ++i) {
      fb[i] = static_cast<double>(src[i]);
      mean += fb[i];
    }
    if (c.remove_dc_offset) {
      mean /= static_cast<double>(W);
      for (int64_t i = 0; i < W; ++i) fb[i] -= mean;
    }
    if (c.preemphasis != 0.0) {
      for (int64_t i = W - 1; i > 0; --i) fb[i] -= c.preemphasis * fb[i - 1];
      fb[0] -= c.preemphasis * fb[0];
    }
    for (int64_t i = 0; i < W; ++i) in[i] = static_cast<float>(fb[i] * im.window[i]);
    for (int64_t i = W; i < P; ++i) in[i] = 0.0f;
    im.fft.run();
    const std::complex<float>* X = im.fft.output();
    for (int64_t k = 0; k < n_freqs; ++k) {
      const double re = X[k].real(), imag = X[k].imag();
      im.spectrum[k] = re * re + imag * imag;
    }
    im.bank.apply(im.spectrum.data(), im.logmel.data());
    for (int64_t m = 0; m < M; ++m) im.logmel[m] = std::log(std::max(im.logmel[m], eps));
    float* row = out.row(j);
    for (int64_t k = 0; k < C; ++k) {
      const double* d = im.dct.data() + k * M;
      double acc = 0.0;
      for (int64_t m = 0; m < M; ++m) acc += d[m] * im.logmel[m];
      row[k] = static_cast<float>(acc);
    }
  }
  if (c.deltas && frames > 0) {
    deltas(out, 0, C, C);
    deltas(out, C, 2 * C, C);
  }
  return out;
}

}  // namespace mert
