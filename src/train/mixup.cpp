#include "train/mixup.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <string>
#include <vector>

#include "mert/error.h"
#include "train/train_rng.h"

namespace mert::train {

std::vector<bool> inbatch_noise_mixup(at::Tensor& wave, int64_t first_row, uint64_t seed, uint64_t step,
                                      const MixupOptions& opts) {
  if (!wave.defined() || wave.dim() != 2 || wave.scalar_type() != at::kFloat || !wave.device().is_cpu() ||
      !wave.is_contiguous())
    throw Error("noise mixup: expected a contiguous [batch, samples] float32 CPU waveform, got " +
                (wave.defined() ? std::string(wave.toString()) + " of shape " + c10::str(wave.sizes()) +
                                      (wave.is_contiguous() ? "" : " (not contiguous)")
                                : std::string("an undefined tensor")));
  if (first_row < 0 || opts.min_len < 1 || opts.max_len < opts.min_len || opts.max_segments < 1 ||
      !(opts.prob >= 0 && opts.prob <= 1))
    throw Error("noise mixup: need first_row >= 0, 1 <= min_len <= max_len, max_segments >= 1 and prob in "
                "[0, 1], got first_row " + std::to_string(first_row) + ", min_len " + std::to_string(opts.min_len) +
                ", max_len " + std::to_string(opts.max_len) + ", max_segments " +
                std::to_string(opts.max_segments) + ", prob " + std::to_string(opts.prob));

  const int64_t rows = wave.size(0), S = wave.size(1);
  std::vector<bool> mixed(rows, false);
  const int64_t pool_len = (rows - 1) * S;  // row r's pool: the other rows back to back
  if (rows < 2 || pool_len < opts.max_len) return mixed;

  const at::Tensor clean = wave.clone();
  const float* src = clean.data_ptr<float>();
  float* dst = wave.data_ptr<float>();
  const auto gain = static_cast<float>(opts.gain);
  for (int64_t r = 0; r < rows; ++r) {
    KeyedRng rng(seed, RngPurpose::Mixup, step, static_cast<uint64_t>(first_row + r));
    if (!(rng.uniform() < opts.prob)) continue;
    mixed[r] = true;
    const int64_t segments = rng.between(1, opts.max_segments);
    for (int64_t s = 0; s < segments; ++s) {
      int64_t len = rng.between(opts.min_len, opts.max_len);
      const int64_t start = rng.between(0, pool_len - opts.max_len);
      len = std::min(len, S);
      const int64_t pos = rng.between(0, S - len);
      for (int64_t i = 0; i < len; ++i) {
        const int64_t p = start + i;
        const int64_t k = p / S;  // k-th row of the pool, skipping row r itself
        const int64_t src_row = k < r ? k : k + 1;
        dst[r * S + pos + i] += gain * src[src_row * S + p % S];
      }
    }
  }
  return mixed;
}

}  // namespace mert::train
