#pragma once
// Input checks shared by the metrics: every function refuses what the reference library would
// refuse (shape mismatch, empty input, NaN/inf) with a mert::Error saying what and where.
#include <cmath>
#include <cstdint>
#include <string>

#include "mert/error.h"
#include "mert/metrics.h"

namespace mert::metrics::detail {

// A well-formed [rows, cols] matrix with rows >= min_rows, cols >= 1 and only finite values.
inline void check_matrix(const Matrix& m, const std::string& what, int64_t min_rows = 1) {
  if (m.rows < 0 || m.cols < 0 || static_cast<uint64_t>(m.data.size()) != static_cast<uint64_t>(m.rows * m.cols))
    throw Error(what + ": " + std::to_string(m.data.size()) + " values do not fill shape [" +
                std::to_string(m.rows) + ", " + std::to_string(m.cols) + "]");
  if (m.rows < min_rows)
    throw Error(what + ": needs at least " + std::to_string(min_rows) + " row(s), got " + std::to_string(m.rows));
  if (m.cols < 1) throw Error(what + ": has no columns");
  for (size_t i = 0; i < m.data.size(); ++i)
    if (!std::isfinite(m.data[i]))
      throw Error(what + ": non-finite value " + std::to_string(m.data[i]) + " at row " +
                  std::to_string(static_cast<int64_t>(i) / m.cols) + ", column " +
                  std::to_string(static_cast<int64_t>(i) % m.cols));
}

inline void check_same_shape(const Matrix& a, const std::string& a_name, const Matrix& b, const std::string& b_name) {
  if (a.rows != b.rows || a.cols != b.cols)
    throw Error("shape mismatch: " + a_name + " [" + std::to_string(a.rows) + ", " + std::to_string(a.cols) + "] vs " +
                b_name + " [" + std::to_string(b.rows) + ", " + std::to_string(b.cols) + "]");
}

}  // namespace mert::metrics::detail
