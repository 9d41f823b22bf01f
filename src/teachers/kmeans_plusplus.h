#pragma once
// Greedy k-means++ seeding (Arthur & Vassilvitskii; the variant scikit-learn uses): the first
// centre is a uniformly drawn row; each further centre is the best of 2 + floor(ln k) candidates
// drawn with probability proportional to the squared distance to the nearest chosen centre, "best"
// meaning the one that leaves the smallest potential (sum of those squared distances).
#include <cstdint>

#include "teachers/kmeans_pool.h"
#include "teachers/kmeans_rng.h"

namespace mert::kmeans_detail {

// x: [n, dim] rows; mean[dim]: a point near their centre (distances are expanded around it);
// xnorm2[n] = ||x_i - mean||^2. Writes k centres (copies of rows of x) into centers[k, dim].
// Requires 1 <= k <= n. Deterministic for a given rng state, independent of the pool size.
void kmeans_plusplus(const float* x, int64_t n, int64_t dim, const float* mean,
                     const float* xnorm2, int64_t k, Rng& rng, Pool& pool, float* centers);

}  // namespace mert::kmeans_detail
