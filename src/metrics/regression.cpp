// Coefficient of determination per output, as scikit-learn's r2_score (multioutput
// "raw_values" for r2, "uniform_average" for r2_mean).
#include <string>

#include "metrics/checks.h"

namespace mert::metrics {

RegressionScores regression(const Matrix& targets, const Matrix& predictions) {
  // sklearn returns NaN (with a warning) below two samples; a NaN is no score, so refuse.
  detail::check_matrix(targets, "targets", 2);
  detail::check_matrix(predictions, "predictions", 2);
  detail::check_same_shape(targets, "targets", predictions, "predictions");
  const int64_t n = targets.rows, k = targets.cols;
  RegressionScores r;
  double total = 0;
  for (int64_t j = 0; j < k; ++j) {
    double sum = 0;
    bool constant = true;
    for (int64_t i = 0; i < n; ++i) {
      sum += targets.at(i, j);
      constant = constant && targets.at(i, j) == targets.at(0, j);
    }
    const double mean = sum / static_cast<double>(n);
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double e = targets.at(i, j) - predictions.at(i, j), d = targets.at(i, j) - mean;
      num += e * e;
      den += d * d;
    }
    // sklearn's rule for a zero denominator (force_finite): 1 when predicted exactly, else 0.
    // "Constant" is decided on the targets themselves: sklearn tests its computed variance,
    // which for a constant such as 0.1 can come out as a tiny non-zero number.
    double r2;
    if (constant || den == 0) r2 = num == 0 ? 1.0 : 0.0;
    else r2 = 1.0 - num / den;
    r.r2.push_back(r2);
    total += r2;
  }
  r.r2_mean = total / static_cast<double>(k);
  return r;
}

}  // namespace mert::metrics
