#pragma once
// Kaldi-compatible MFCC as HuBERT's k-means recipe computes it
// (torchaudio.compliance.kaldi.mfcc with its defaults and use_energy=False, then deltas and
// delta-deltas from torchaudio.functional.compute_deltas): 13 + 13 + 13 = 39 dims per frame.
#include <cstdint>
#include <memory>

#include "mert/feature_matrix.h"

namespace mert {

struct MfccConfig {
  double sample_rate = 24000;
  double frame_length_ms = 25.0;
  double frame_shift_ms = 10.0;
  int64_t num_ceps = 13;
  int64_t num_mel_bins = 23;
  double low_freq = 20.0;
  double high_freq = 0.0;        // <= 0: offset from Nyquist, as Kaldi
  double preemphasis = 0.97;
  double cepstral_lifter = 22.0;
  bool remove_dc_offset = true;
  bool deltas = true;            // append deltas and delta-deltas (window 5)
  void validate() const;
};

class Mfcc {
 public:
  explicit Mfcc(const MfccConfig& cfg);
  ~Mfcc();
  Mfcc(const Mfcc&) = delete;
  Mfcc& operator=(const Mfcc&) = delete;
  const MfccConfig& config() const;
  int64_t dim() const;                              // 39 with deltas, else num_ceps
  int64_t num_frames(int64_t num_samples) const;    // Kaldi snip_edges=True framing
  double frame_center(int64_t frame) const;         // in samples
  FeatureMatrix compute(const float* x, int64_t n);  // [num_frames, dim]

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mert
