#pragma once
// Evaluation metrics of the MARBLE protocol, numerically equal to the reference libraries
// (scikit-learn for classification / multi-label / regression, mir_eval for keys). Plain C++,
// no libtorch: row-major [n, c] arrays of doubles.
#include <cstdint>
#include <string>
#include <vector>

namespace mert::metrics {

// A [rows, cols] row-major matrix of scores or targets.
struct Matrix {
  int64_t rows = 0, cols = 0;
  std::vector<double> data;
  double at(int64_t r, int64_t c) const { return data[static_cast<size_t>(r * cols + c)]; }
};

// Multi-class: targets are class indices in [0, C), scores [N, C] (logits or probabilities).
// accuracy: argmax (first maximum on ties, as numpy) == target; top5_accuracy: target among the
// 5 highest scores (all classes when C <= 5). Equal scores rank the higher class index first, as
// scikit-learn's top_k_accuracy_score (a stable ascending argsort read backwards) does.
// Throws mert::Error for N = 0, a size mismatch, a target outside [0, C) or a non-finite score.
struct MulticlassScores {
  double accuracy = 0, top5_accuracy = 0;
};
MulticlassScores multiclass(const std::vector<int64_t>& targets, const Matrix& scores);

// Multi-label: targets 0/1 [N, C], scores [N, C] (logits). roc_auc_macro / ap_macro as
// scikit-learn's roc_auc_score / average_precision_score with average="macro" over the classes
// that have both a positive and a negative target; f1_macro at threshold 0.5 on sigmoid(scores)
// over the same classes (positive when score > 0, i.e. sigmoid(score) > 0.5). skipped_classes
// counts the classes left out (never a NaN). Equal scores form one threshold (sklearn's
// _binary_clf_curve). Throws mert::Error for a shape mismatch, N = 0, targets other than 0/1,
// non-finite scores, or when every class would be skipped.
struct MultilabelScores {
  double roc_auc_macro = 0, ap_macro = 0, f1_macro = 0;
  int64_t skipped_classes = 0;
};
MultilabelScores multilabel(const Matrix& targets, const Matrix& scores);

// Regression: targets and predictions [N, K]; r2 per output as scikit-learn's r2_score
// (constant target: 1 if predicted exactly, else 0), r2_mean their uniform average. Throws
// mert::Error for a shape mismatch, N < 2 (sklearn: NaN) or non-finite values.
struct RegressionScores {
  std::vector<double> r2;
  double r2_mean = 0;
};
RegressionScores regression(const Matrix& targets, const Matrix& predictions);

// Keys: 24 classes, index = tonic (C=0 .. B=11) + 12 * minor. Parses GiantSteps / mir_eval
// spellings ("Eb minor", "D# minor", "C major", "c# minor"); enharmonics map to the same index.
// As mir_eval.key: tonic case-insensitive, mode exactly "major" or "minor"; mir_eval's 'X' (no
// key) and 'other' mode are not among the 24 classes. Throws mert::Error naming the text for
// anything else.
int key_index(const std::string& text);
std::string key_name(int index);  // "C major", "Eb minor", ... (flats as GiantSteps writes them)
// mir_eval.key.weighted_score for one pair: 1 same key, 0.5 estimate a fifth above in the same
// mode, 0.3 relative, 0.2 parallel, else 0.
double key_weighted_score(int reference, int estimate);
struct KeyScores {
  double weighted_score = 0, accuracy = 0;
};
KeyScores key(const std::vector<int>& references, const std::vector<int>& estimates);

}  // namespace mert::metrics
