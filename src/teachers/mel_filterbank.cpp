#include "teachers/mel_filterbank.h"

#include <algorithm>
#include <cmath>

#include "mert/error.h"

namespace mert::mel {

void SparseFilterbank::add_filter(const std::vector<double>& dense) {
  if (static_cast<int64_t>(dense.size()) != num_bins_)
    throw Error("mel filterbank: filter has " + std::to_string(dense.size()) + " bins, expected " +
                std::to_string(num_bins_));
  int64_t lo = 0, hi = num_bins_;
  while (lo < hi && dense[lo] == 0.0) ++lo;
  while (hi > lo && dense[hi - 1] == 0.0) --hi;
  begin_.push_back(lo);
  weights_.insert(weights_.end(), dense.begin() + lo, dense.begin() + hi);
  offset_.push_back(static_cast<int64_t>(weights_.size()));
}

double SparseFilterbank::weight(int64_t m, int64_t bin) const {
  const int64_t k = bin - begin_[m];
  if (k < 0 || k >= length(m)) return 0.0;
  return weights_[offset_[m] + k];
}

void SparseFilterbank::apply(const double* spectrum, double* out) const {
  const int64_t n = num_filters();
  for (int64_t m = 0; m < n; ++m) {
    const double* w = weights_.data() + offset_[m];
    const double* s = spectrum + begin_[m];
    const int64_t len = offset_[m + 1] - offset_[m];
    double acc = 0.0;
    for (int64_t k = 0; k < len; ++k) acc += w[k] * s[k];
    out[m] = acc;
  }
}

double hz_to_mel_htk(double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); }
double mel_to_hz_htk(double mel) { return 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0); }
double hz_to_mel_kaldi(double hz) { return 1127.0 * std::log(1.0 + hz / 700.0); }
double mel_to_hz_kaldi(double mel) { return 700.0 * (std::exp(mel / 1127.0) - 1.0); }

namespace {
// torch.linspace(start, end, steps)[i]
double linspace(double start, double end, int64_t steps, int64_t i) {
  if (steps == 1) return start;
  return start + (end - start) * static_cast<double>(i) / static_cast<double>(steps - 1);
}
}  // namespace

SparseFilterbank htk_mel_filterbank(int64_t n_freqs, double sample_rate, double f_min,
                                    double f_max, int64_t n_mels) {
  // torchaudio: all_freqs = linspace(0, sample_rate // 2, n_freqs); f_pts = mel-spaced points;
  // fb[k, m] = max(0, min((f_k - f_m) / (f_{m+1} - f_m), (f_{m+2} - f_k) / (f_{m+2} - f_{m+1}))).
  const double top = std::floor(sample_rate / 2.0);
  std::vector<double> freqs(static_cast<size_t>(n_freqs));
  for (int64_t k = 0; k < n_freqs; ++k) freqs[k] = linspace(0.0, top, n_freqs, k);
  const double m_min = hz_to_mel_htk(f_min), m_max = hz_to_mel_htk(f_max);
  std::vector<double> f_pts(static_cast<size_t>(n_mels + 2));
  for (int64_t i = 0; i < n_mels + 2; ++i) f_pts[i] = mel_to_hz_htk(linspace(m_min, m_max, n_mels + 2, i));

  SparseFilterbank fb(n_freqs);
  std::vector<double> row(static_cast<size_t>(n_freqs));
  for (int64_t m = 0; m < n_mels; ++m) {
    const double lo = f_pts[m], mid = f_pts[m + 1], hi = f_pts[m + 2];
    for (int64_t k = 0; k < n_freqs; ++k) {
      const double up = (freqs[k] - lo) / (mid - lo);
      const double down = (hi - freqs[k]) / (hi - mid);
      row[k] = std::max(0.0, std::min(up, down));
    }
    fb.add_filter(row);
  }
  return fb;
}

SparseFilterbank kaldi_mel_filterbank(int64_t num_bins, int64_t padded_window, double sample_rate,
                                      double low_freq, double high_freq) {
  const int64_t num_fft_bins = padded_window / 2;  // the Nyquist bin gets weight 0
  const double nyquist = 0.5 * sample_rate;
  if (high_freq <= 0.0) high_freq += nyquist;
  const double bin_width = sample_rate / static_cast<double>(padded_window);
  const double mel_low = hz_to_mel_kaldi(low_freq), mel_high = hz_to_mel_kaldi(high_freq);
  const double delta = (mel_high - mel_low) / static_cast<double>(num_bins + 1);

  std::vector<double> mel(static_cast<size_t>(num_fft_bins));
  for (int64_t k = 0; k < num_fft_bins; ++k) mel[k] = hz_to_mel_kaldi(bin_width * static_cast<double>(k));

  SparseFilterbank fb(num_fft_bins + 1);
  std::vector<double> row(static_cast<size_t>(num_fft_bins + 1), 0.0);
  for (int64_t b = 0; b < num_bins; ++b) {
    const double left = mel_low + static_cast<double>(b) * delta;
    const double center = mel_low + static_cast<double>(b + 1) * delta;
    const double right = mel_low + static_cast<double>(b + 2) * delta;
    for (int64_t k = 0; k < num_fft_bins; ++k) {
      const double up = (mel[k] - left) / (center - left);
      const double down = (right - mel[k]) / (right - center);
      row[k] = std::max(0.0, std::min(up, down));
    }
    fb.add_filter(row);
  }
  return fb;
}

}  // namespace mert::mel
