// Chroma folded from a CQT magnitude.
//
// Definition: bin b (frequency f_b = fmin * 2^(b / bins_per_octave)) has MIDI pitch
// midi_b = 69 + 12 * log2(f_b / 440) and pitch class ((long)floor(midi_b + 0.5)) mod 12
// (non-negative; 0 = C, 1 = C#, ..., 9 = A, 11 = B). chroma[t][c] = sum of cqt[t][b] over the
// bins b of class c (linear magnitudes). With normalize, each frame is divided by its maximum
// (an all-zero frame stays all zero). With fmin = 32.7 Hz (0.0017 semitone below C1 = 32.703 Hz)
// and 48 bins per octave, midi_b = 23.9983 + b/4, so bins 0..2 are C and bins 4s-1 .. 4s+2 fall
// in semitone s above C1 (class s mod 12).
#include "mert/chroma.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "mert/error.h"
#include "teachers/cqt_kernels.h"

namespace mert {

FeatureMatrix chroma_from_cqt(const FeatureMatrix& cqt, const ChromaConfig& cfg) {
  cfg.cqt.validate();
  if (cqt.cols != cfg.cqt.n_bins) {
    throw Error("chroma: CQT has " + std::to_string(cqt.cols) + " bins, config expects " +
                std::to_string(cfg.cqt.n_bins));
  }
  if (cqt.rows < 0 || cqt.data.size() != static_cast<size_t>(cqt.rows * cqt.cols)) {
    throw Error("chroma: CQT matrix data size does not match its shape");
  }
  std::vector<int> cls(static_cast<size_t>(cqt.cols));
  for (int64_t b = 0; b < cqt.cols; ++b) {
    const double f = cqt_detail::cqt_bin_frequency(cfg.cqt, b);
    const double midi = 69.0 + 12.0 * std::log2(f / 440.0);
    long c = static_cast<long>(std::floor(midi + 0.5)) % 12;
    if (c < 0) c += 12;
    cls[static_cast<size_t>(b)] = static_cast<int>(c);
  }
  FeatureMatrix out(cqt.rows, 12);
  for (int64_t t = 0; t < cqt.rows; ++t) {
    const float* in = cqt.row(t);
    float* o = out.row(t);
    for (int64_t b = 0; b < cqt.cols; ++b) o[cls[static_cast<size_t>(b)]] += in[b];
    if (cfg.normalize) {
      const float mx = *std::max_element(o, o + 12);
      if (mx > 0) {
        for (int c = 0; c < 12; ++c) o[c] /= mx;
      }
    }
  }
  return out;
}

}  // namespace mert
