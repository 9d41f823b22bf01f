// Multi-class accuracy and top-5 accuracy, as scikit-learn's accuracy_score on numpy's argmax and
// top_k_accuracy_score(k=5, labels=range(C)).
#include <string>

#include "metrics/checks.h"

namespace mert::metrics {

MulticlassScores multiclass(const std::vector<int64_t>& targets, const Matrix& scores) {
  detail::check_matrix(scores, "scores");
  if (static_cast<int64_t>(targets.size()) != scores.rows)
    throw Error("shape mismatch: " + std::to_string(targets.size()) + " targets vs " + std::to_string(scores.rows) +
                " rows of scores");
  const int64_t n = scores.rows, c = scores.cols;
  int64_t hits = 0, hits5 = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t t = targets[static_cast<size_t>(i)];
    if (t < 0 || t >= c)
      throw Error("target " + std::to_string(t) + " at row " + std::to_string(i) + " is not a class index in [0, " +
                  std::to_string(c) + ")");
    const double* row = scores.data.data() + i * c;
    int64_t best = 0;  // numpy's argmax: the first maximum
    for (int64_t j = 1; j < c; ++j)
      if (row[j] > row[best]) best = j;
    hits += best == t;
    // top_k_accuracy_score ranks classes by a stable ascending argsort read backwards, so among
    // equal scores the higher class index ranks first.
    int64_t rank = 0;
    for (int64_t j = 0; j < c; ++j) rank += row[j] > row[t] || (row[j] == row[t] && j > t);
    hits5 += rank < 5;
  }
  MulticlassScores r;
  r.accuracy = static_cast<double>(hits) / static_cast<double>(n);
  r.top5_accuracy = static_cast<double>(hits5) / static_cast<double>(n);
  return r;
}

}  // namespace mert::metrics
