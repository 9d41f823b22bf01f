#pragma once
// A dense row-major float matrix [rows, cols]: one row per frame. The teachers (CQT, MFCC,
// log-mel, chroma, k-means) exchange frames in this form so they stay free of libtorch.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace mert {

struct FeatureMatrix {
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<float> data;  // rows * cols, row-major

  FeatureMatrix() = default;
  FeatureMatrix(int64_t r, int64_t c) : rows(r), cols(c), data(static_cast<size_t>(r * c), 0.0f) {}
  float* row(int64_t r) { return data.data() + r * cols; }
  const float* row(int64_t r) const { return data.data() + r * cols; }
  float& at(int64_t r, int64_t c) { return data[static_cast<size_t>(r * cols + c)]; }
  float at(int64_t r, int64_t c) const { return data[static_cast<size_t>(r * cols + c)]; }
};

}  // namespace mert
