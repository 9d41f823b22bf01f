#pragma once
// k-means for teacher labels: k-means++ initialisation, then full Lloyd or mini-batch updates
// on a sample of frames; multithreaded nearest-centroid assignment for whole corpora.
// Deterministic for a given seed and thread count.
#include <cstdint>

#include "mert/feature_matrix.h"

namespace mert {

struct KMeansOptions {
  int64_t clusters = 100;
  bool minibatch = true;        // false: full Lloyd iterations
  int max_iter = 100;           // Lloyd iterations, or mini-batch epochs-equivalent steps
  int64_t batch_size = 10000;   // mini-batch size
  int max_no_improvement = 100; // mini-batch early stop (steps without smoothed-inertia gain)
  double tol = 1e-4;            // Lloyd: stop when centroid shift^2 sum <= tol * mean variance
  int n_init = 1;               // Lloyd: best of n_init runs by inertia. Mini-batch (as sklearn):
                                // best of n_init k-means++ seedings, by inertia on a validation
                                // sample, then one mini-batch run
  uint64_t seed = 0;
  int threads = 0;              // 0: all available
};

struct KMeansResult {
  FeatureMatrix centroids;      // [clusters, dim]
  double inertia = 0;           // sum of squared distances of the fitted frames to their centroid
  int iterations = 0;           // Lloyd iterations, or mini-batch steps (batches)
};

KMeansResult kmeans_fit(const FeatureMatrix& frames, const KMeansOptions& opt);

// Nearest centroid of each of the n rows of x ([n, dim], row-major); labels[n]; optional
// squared distances dist2[n]. Threads: 0 = all available.
void kmeans_assign(const FeatureMatrix& centroids, const float* x, int64_t n, int32_t* labels,
                   float* dist2 = nullptr, int threads = 0);

// Sum of squared distances of `frames` to their nearest centroid.
double kmeans_inertia(const FeatureMatrix& centroids, const FeatureMatrix& frames, int threads = 0);

}  // namespace mert
