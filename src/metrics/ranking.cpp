// scikit-learn's _binary_clf_curve, roc_auc_score and average_precision_score for one column.
#include "metrics/ranking.h"

#include <algorithm>
#include <numeric>

namespace mert::metrics::detail {

BinaryCurve binary_clf_curve(const std::vector<double>& scores, const std::vector<uint8_t>& labels) {
  std::vector<int64_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  // Descending; the order inside a group of equal scores does not matter because the group is
  // one threshold (only its end is recorded).
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return scores[a] > scores[b]; });
  BinaryCurve c;
  int64_t tp = 0, fp = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    (labels[order[i]] ? tp : fp) += 1;
    if (i + 1 == order.size() || scores[order[i + 1]] != scores[order[i]]) {
      c.tps.push_back(tp);
      c.fps.push_back(fp);
    }
  }
  return c;
}

double roc_auc(const BinaryCurve& c) {
  // sklearn: trapezoid over fpr = fps / N, tpr = tps / P with (0, 0) prepended. Twice the area
  // times P * N is an integer; summing it exactly leaves one rounding (sklearn's own differs by
  // float rounding only; its drop_intermediate removes collinear points, same area).
  int64_t twice_area = 0, prev_tp = 0, prev_fp = 0;
  for (size_t k = 0; k < c.tps.size(); ++k) {
    twice_area += (c.fps[k] - prev_fp) * (c.tps[k] + prev_tp);
    prev_tp = c.tps[k];
    prev_fp = c.fps[k];
  }
  const double p = static_cast<double>(c.tps.back()), n = static_cast<double>(c.fps.back());
  return static_cast<double>(twice_area) / (2.0 * p * n);
}

double average_precision(const BinaryCurve& c) {
  // sklearn: -sum(diff(recall) * precision[:-1]) over the curve reversed up to full recall,
  // i.e. sum_k (tps_k - tps_{k-1}) / P * tps_k / (tps_k + fps_k); thresholds past full recall
  // add tps_k - tps_{k-1} = 0.
  double sum = 0;
  int64_t prev_tp = 0;
  for (size_t k = 0; k < c.tps.size(); ++k) {
    if (c.tps[k] != prev_tp)
      sum += static_cast<double>(c.tps[k] - prev_tp) * static_cast<double>(c.tps[k]) /
             static_cast<double>(c.tps[k] + c.fps[k]);
    prev_tp = c.tps[k];
  }
  return sum / static_cast<double>(c.tps.back());
}

}  // namespace mert::metrics::detail
