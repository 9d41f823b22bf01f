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

// torch.linspace(start, end, steps) for float32 on the CPU, rounding included. ATen's kernel
// computes step = (end - start) / (steps - 1) in float; element i is start + step * i in the
// first half and end - step * (steps - 1 - i) in the second. Its AVX2 build writes 16 values per
// iteration as two 8-lane vectors: the first lane of each vector uses that formula (contracted
// to one fused multiply-add), the other lanes add k * step (k = 1..7) to it; the tail that does
// not fill 16 values uses the fused formula (checked bit for bit against torch 1.13's output).
// With it, all but 76 of the ~2050 nonzero weights of MERT's log-mel filterbank equal
// torchaudio's bit for bit (the 76 differ by <= 6e-6 through torch's pow rounding). That matters
// for log-mel bands that a strong partial reaches only through a triangle's tail, where exact
// weights would move the log by up to ~1e-4 relative. Other builds (e.g. AVX-512) round a few
// points differently: harmless, it is still a float32 linspace.
std::vector<float> torch_linspace_f32(double start_d, double end_d, int64_t steps) {
  std::vector<float> out(static_cast<size_t>(steps));
  if (steps == 1) {
    out[0] = static_cast<float>(start_d);
    return out;
  }
  const float start = static_cast<float>(start_d), end = static_cast<float>(end_d);
  const float step = (end - start) / static_cast<float>(steps - 1);
  const int64_t halfway = steps / 2;
  auto fused = [&](int64_t idx) {
    return idx < halfway ? std::fma(step, static_cast<float>(idx), start)
                         : std::fma(-step, static_cast<float>(steps - idx - 1), end);
  };
  constexpr int64_t kLanes = 8;
  int64_t i = 0;
  for (; i + 2 * kLanes <= steps; i += 2 * kLanes) {
    for (int64_t v = i; v < i + 2 * kLanes; v += kLanes) {
      const float base = fused(v);
      out[v] = base;
      for (int64_t k = 1; k < kLanes; ++k) {
        // k * step rounded to float on its own (a double product of these is exact), then added:
        // written so the compiler cannot contract it into a fused multiply-add.
        const float prod = static_cast<float>(static_cast<double>(k) * static_cast<double>(step));
        out[v + k] = base + prod;
      }
    }
  }
  for (; i < steps; ++i) out[i] = fused(i);
  return out;
}

}  // namespace

SparseFilterbank htk_mel_filterbank(int64_t n_freqs, double sample_rate, double f_min,
                                    double f_max, int64_t n_mels) {
  // torchaudio.functional.melscale_fbanks, evaluated in float32 as torchaudio does:
  //   all_freqs = linspace(0, sample_rate // 2, n_freqs)
  //   f_pts = 700 * (10 ** (linspace(mel(f_min), mel(f_max), n_mels + 2) / 2595) - 1)
  //   fb[k, m] = max(0, min((f_k - f_m) / (f_{m+1} - f_m), (f_{m+2} - f_k) / (f_{m+2} - f_{m+1})))
  // (mel(f_min), mel(f_max) are Python floats, i.e. double.) Exact (double) weights would differ
  // from torchaudio's by up to ~2e-5, enough to move a log-mel value by ~1e-4 relative.
  const std::vector<float> freqs = torch_linspace_f32(0.0, std::floor(sample_rate / 2.0), n_freqs);
  const std::vector<float> m_pts = torch_linspace_f32(hz_to_mel_htk(f_min), hz_to_mel_htk(f_max), n_mels + 2);
  std::vector<float> f_pts(m_pts.size());
  for (size_t i = 0; i < m_pts.size(); ++i) {
    const float q = m_pts[i] / 2595.0f;
    const float p = static_cast<float>(std::pow(10.0, static_cast<double>(q)));
    f_pts[i] = 700.0f * (p - 1.0f);
  }

  SparseFilterbank fb(n_freqs);
  std::vector<double> row(static_cast<size_t>(n_freqs));
  for (int64_t m = 0; m < n_mels; ++m) {
    const float lo = f_pts[m], mid = f_pts[m + 1], hi = f_pts[m + 2];
    const float d_lo = mid - lo, d_hi = hi - mid;
    for (int64_t k = 0; k < n_freqs; ++k) {
      const float down = -(lo - freqs[k]) / d_lo;  // rising edge
      const float up = (hi - freqs[k]) / d_hi;     // falling edge
      row[k] = static_cast<double>(std::max(0.0f, std::min(down, up)));
    }
    fb.add_filter(row);
  }
  return fb;
}

SparseFilterbank kaldi_mel_filterbank(int64_t num_bins, int64_t padded_window, double sample_rate,
                                      double low_freq, double high_freq) {
  // torchaudio.compliance.kaldi.get_mel_banks (no VTLN), evaluated in float32 as torchaudio does:
  // the band edges mel_low + b * delta (b, b+1, b+2) and the FFT bins' mels
  // 1127 ln(1 + k * bin_width / 700) are float32 tensors; Python scalars (mel_low, delta,
  // bin_width; computed in double) enter the float32 arithmetic rounded to float.
  const int64_t num_fft_bins = padded_window / 2;  // the Nyquist bin gets weight 0
  const double nyquist = 0.5 * sample_rate;
  if (high_freq <= 0.0) high_freq += nyquist;
  const double bin_width = sample_rate / static_cast<double>(padded_window);
  const double mel_low = hz_to_mel_kaldi(low_freq), mel_high = hz_to_mel_kaldi(high_freq);
  const double delta = (mel_high - mel_low) / static_cast<double>(num_bins + 1);
  const float mel_low_f = static_cast<float>(mel_low), delta_f = static_cast<float>(delta);
  const float bin_width_f = static_cast<float>(bin_width);

  std::vector<float> mel(static_cast<size_t>(num_fft_bins));
  for (int64_t k = 0; k < num_fft_bins; ++k) {
    const float hz = bin_width_f * static_cast<float>(k);
    mel[k] = 1127.0f * std::log(1.0f + hz / 700.0f);
  }

  SparseFilterbank fb(num_fft_bins + 1);
  std::vector<double> row(static_cast<size_t>(num_fft_bins + 1), 0.0);
  for (int64_t b = 0; b < num_bins; ++b) {
    // Products rounded to float on their own (torch multiplies and adds in separate kernels);
    // the double product of a small integer and a float is exact, so this cannot be contracted.
    auto edge = [&](int64_t i) {
      return mel_low_f + static_cast<float>(static_cast<double>(i) * static_cast<double>(delta_f));
    };
    const float left = edge(b), center = edge(b + 1), right = edge(b + 2);
    for (int64_t k = 0; k < num_fft_bins; ++k) {
      const float up = (mel[k] - left) / (center - left);
      const float down = (right - mel[k]) / (right - center);
      row[k] = static_cast<double>(std::max(0.0f, std::min(up, down)));
    }
    fb.add_filter(row);
  }
  return fb;
}

}  // namespace mert::mel
