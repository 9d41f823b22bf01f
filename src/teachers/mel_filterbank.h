#pragma once
// Triangular mel filterbanks over the bins of a one-sided power spectrum, stored sparsely: each
// triangle touches only a short run of consecutive FFT bins, so applying the bank costs about
// twice the number of bins instead of n_mels * n_bins. Two constructions are provided, the two
// the spectral teachers need:
//   * htk_mel_filterbank: torchaudio.functional.melscale_fbanks(norm=None, mel_scale="htk"),
//     i.e. triangles in Hz between mel-spaced points with mel = 2595 log10(1 + f/700).
//   * kaldi_mel_filterbank: torchaudio.compliance.kaldi.get_mel_banks without VTLN, i.e.
//     triangles in the mel domain with mel = 1127 ln(1 + f/700), Nyquist bin excluded.
#include <cstdint>
#include <vector>

namespace mert::mel {

class SparseFilterbank {
 public:
  SparseFilterbank() = default;
  explicit SparseFilterbank(int64_t num_bins) : num_bins_(num_bins) {}
  // Appends a filter given densely over all num_bins() bins; leading and trailing zeros are
  // dropped (a triangle's support is one contiguous run).
  void add_filter(const std::vector<double>& dense);

  int64_t num_filters() const { return static_cast<int64_t>(begin_.size()); }
  int64_t num_bins() const { return num_bins_; }
  // Filter m's nonzero run: bins [first_bin(m), first_bin(m) + length(m)).
  int64_t first_bin(int64_t m) const { return begin_[m]; }
  int64_t length(int64_t m) const { return offset_[m + 1] - offset_[m]; }
  double weight(int64_t m, int64_t bin) const;  // dense view, for tests
  int64_t nonzeros() const { return static_cast<int64_t>(weights_.size()); }

  // out[m] = sum_k W[m, k] * spectrum[k], for a spectrum of num_bins() values.
  void apply(const double* spectrum, double* out) const;

 private:
  int64_t num_bins_ = 0;
  std::vector<int64_t> begin_;
  std::vector<int64_t> offset_{0};
  std::vector<double> weights_;
};

// HTK mel scale (torchaudio's "htk").
double hz_to_mel_htk(double hz);
double mel_to_hz_htk(double mel);
// Kaldi mel scale.
double hz_to_mel_kaldi(double hz);
double mel_to_hz_kaldi(double mel);

// torchaudio.functional.melscale_fbanks(n_freqs, f_min, f_max, n_mels, sample_rate, None, "htk"),
// transposed to [n_mels, n_freqs], evaluated in float32 the way torchaudio evaluates it (so the
// weights match torchaudio's float32 ones, not the exact real-number triangles). The frequency
// grid is linspace(0, floor(sample_rate / 2), n_freqs).
SparseFilterbank htk_mel_filterbank(int64_t n_freqs, double sample_rate, double f_min,
                                    double f_max, int64_t n_mels);

// torchaudio.compliance.kaldi.get_mel_banks(num_bins, padded_window, sample_rate, low, high,
// vtln_warp=1) padded with a zero column for the Nyquist bin: [num_bins, padded_window/2 + 1].
// high_freq <= 0 means an offset from Nyquist. Caller validates the frequencies.
SparseFilterbank kaldi_mel_filterbank(int64_t num_bins, int64_t padded_window, double sample_rate,
                                      double low_freq, double high_freq);

}  // namespace mert::mel
