#pragma once
// Chroma: a 12-dimensional pitch-class profile per frame, folded from the CQT (see
// docs/TEACHERS.md for the exact definition). Pitch class 0 = C when fmin is a C.
#include <cstdint>

#include "mert/cqt.h"
#include "mert/feature_matrix.h"

namespace mert {

struct ChromaConfig {
  CqtConfig cqt;            // the CQT it is folded from (MERT's settings by default)
  bool normalize = true;    // scale each frame to max 1 (all-zero frames stay zero)
};

// Folds a CQT magnitude [T, n_bins] into chroma [T, 12].
FeatureMatrix chroma_from_cqt(const FeatureMatrix& cqt, const ChromaConfig& cfg);

}  // namespace mert
