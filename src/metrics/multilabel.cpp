// Multi-label macro ROC-AUC, AP and F1 over the classes that have both a positive and a
// negative target (scikit-learn's per-class definitions, see ranking.cpp).
#include <string>

#include "metrics/checks.h"
#include "metrics/ranking.h"

namespace mert::metrics {

MultilabelScores multilabel(const Matrix& targets, const Matrix& scores) {
  detail::check_matrix(targets, "targets");
  detail::check_matrix(scores, "scores");
  detail::check_same_shape(targets, "targets", scores, "scores");
  const int64_t n = scores.rows, c = scores.cols;
  for (size_t i = 0; i < targets.data.size(); ++i)
    if (targets.data[i] != 0.0 && targets.data[i] != 1.0)
      throw Error("targets must be 0 or 1, got " + std::to_string(targets.data[i]) + " at row " +
                  std::to_string(static_cast<int64_t>(i) / c) + ", column " +
                  std::to_string(static_cast<int64_t>(i) % c));

  MultilabelScores r;
  double auc_sum = 0, ap_sum = 0, f1_sum = 0;
  int64_t used = 0;
  std::vector<double> col(static_cast<size_t>(n));
  std::vector<uint8_t> lab(static_cast<size_t>(n));
  for (int64_t j = 0; j < c; ++j) {
    int64_t pos = 0, tp = 0, fp = 0;
    for (int64_t i = 0; i < n; ++i) {
      col[i] = scores.at(i, j);
      lab[i] = targets.at(i, j) == 1.0;
      pos += lab[i];
      // Predicted positive when sigmoid(score) > 0.5, i.e. score > 0 (torchmetrics' threshold).
      if (col[i] > 0) (lab[i] ? tp : fp) += 1;
    }
    if (pos == 0 || pos == n) {
      ++r.skipped_classes;
      continue;
    }
    const detail::BinaryCurve curve = detail::binary_clf_curve(col, lab);
    auc_sum += detail::roc_auc(curve);
    ap_sum += detail::average_precision(curve);
    const int64_t fn = pos - tp;
    f1_sum += 2.0 * static_cast<double>(tp) / static_cast<double>(2 * tp + fp + fn);
    ++used;
  }
  if (used == 0)
    throw Error("no class has both a positive and a negative target (all " + std::to_string(c) +
                " classes would be skipped; " + std::to_string(n) + " rows)");
  r.roc_auc_macro = auc_sum / static_cast<double>(used);
  r.ap_macro = ap_sum / static_cast<double>(used);
  r.f1_macro = f1_sum / static_cast<double>(used);
  return r;
}

}  // namespace mert::metrics
