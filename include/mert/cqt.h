#pragma once
// Constant-Q transform with nnAudio CQT1992v2 semantics as MERT's musical teacher uses it
// (see docs/TEACHERS.md for the definition). Computed with FFTW, exactly (no downsampling
// approximations): every output equals the direct inner product of a kernel with the padded
// signal up to float rounding.
#include <cstdint>
#include <memory>

#include "mert/feature_matrix.h"

namespace mert {

struct CqtConfig {
  double sample_rate = 24000;
  int64_t hop = 320;
  double fmin = 32.7;
  int64_t n_bins = 336;
  int64_t bins_per_octave = 48;
  double filter_scale = 1.0;
  bool center = true;          // zero-pad kernel_width/2 on both sides
  bool librosa_scaling = true;  // multiply bin k by sqrt(kernel length l_k)
  void validate() const;        // throws mert::Error on nonsense values (e.g. top bin above Nyquist)
};

class Cqt {
 public:
  explicit Cqt(const CqtConfig& cfg);
  ~Cqt();
  Cqt(const Cqt&) = delete;
  Cqt& operator=(const Cqt&) = delete;

  const CqtConfig& config() const;
  int64_t kernel_width() const;               // FFT length of the kernels (65536 for MERT's settings)
  int64_t kernel_length(int64_t bin) const;   // l_k = ceil(Q * sr / f_k)
  double bin_frequency(int64_t bin) const;    // f_k = fmin * 2^(k / bins_per_octave)
  int64_t num_frames(int64_t num_samples) const;  // floor(S / hop) + 1 when centred
  // Frame j's centre, in samples of the unpadded signal (j * hop when centred).
  double frame_center(int64_t frame) const;

  // Linear-magnitude CQT of x[0..n): [num_frames(n), n_bins]. Not thread-safe on one object
  // (it owns FFT buffers); use one Cqt per thread.
  FeatureMatrix compute(const float* x, int64_t n);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mert
