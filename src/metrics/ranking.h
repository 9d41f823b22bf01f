#pragma once
// Binary ranking metrics over one column, as scikit-learn computes them: scores sorted in
// descending order, equal scores grouped into one threshold (_binary_clf_curve).
#include <cstdint>
#include <vector>

namespace mert::metrics::detail {

// Cumulative true / false positives at each distinct score, highest score first.
struct BinaryCurve {
  std::vector<int64_t> tps, fps;
};
// labels 0/1 and finite scores of equal length (checked by the caller).
BinaryCurve binary_clf_curve(const std::vector<double>& scores, const std::vector<uint8_t>& labels);

// roc_auc_score: trapezoid under (fps/N, tps/P) from (0, 0), summed exactly in integers.
// average_precision_score: sum over thresholds of (R_k - R_{k-1}) * P_k.
// Both need at least one positive and one negative (checked by the caller).
double roc_auc(const BinaryCurve& curve);
double average_precision(const BinaryCurve& curve);

}  // namespace mert::metrics::detail
