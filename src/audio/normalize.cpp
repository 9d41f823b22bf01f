#include <cmath>

#include "mert/audio.h"

namespace mert {

void normalize_waveform(float* x, size_t n) {
  if (n == 0) return;
  double sum = 0;
  for (size_t i = 0; i < n; ++i) sum += x[i];
  const double mean = sum / static_cast<double>(n);
  double ss = 0;
  for (size_t i = 0; i < n; ++i) {
    const double d = x[i] - mean;
    ss += d * d;
  }
  const double var = ss / static_cast<double>(n);
  const double scale = 1.0 / std::sqrt(var + 1e-7);
  for (size_t i = 0; i < n; ++i) x[i] = static_cast<float>((x[i] - mean) * scale);
}

void normalize_waveform(std::vector<float>& x) { normalize_waveform(x.data(), x.size()); }

}  // namespace mert
