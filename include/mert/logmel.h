#pragma once
// Log-mel spectrogram with torchaudio.transforms.MelSpectrogram semantics followed by a log
// (parameters and definition in docs/TEACHERS.md).
#include <cstdint>
#include <memory>

#include "mert/feature_matrix.h"

namespace mert {

struct LogMelConfig {
  double sample_rate = 24000;
  int64_t n_fft = 2048;
  int64_t win_length = 2048;
  int64_t hop = 320;
  int64_t n_mels = 229;
  double f_min = 30.0;
  double f_max = 12000.0;
  bool center = true;        // zero-pad n_fft/2 on both sides (torch.stft pad_mode="constant")
  double power = 2.0;        // power spectrogram
  double log_offset = 1e-6;  // log(mel + offset)
  void validate() const;
};

class LogMel {
 public:
  explicit LogMel(const LogMelConfig& cfg);
  ~LogMel();
  LogMel(const LogMel&) = delete;
  LogMel& operator=(const LogMel&) = delete;
  const LogMelConfig& config() const;
  int64_t num_frames(int64_t num_samples) const;
  double frame_center(int64_t frame) const;  // in samples of the unpadded signal
  FeatureMatrix compute(const float* x, int64_t n);  // [num_frames, n_mels]

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mert
