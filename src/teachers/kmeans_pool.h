#pragma once
// k-means' parallel work: util::WorkerPool over fixed-size row chunks.
#include <cstdint>

#include "util/worker_pool.h"

namespace mert::kmeans_detail {

// Rows per parallel task. Fixed (not derived from the thread count) so that per-task partial sums,
// reduced in task order, give the same bits for any number of threads.
constexpr int64_t kChunkRows = 1024;

using Pool = util::WorkerPool;

}  // namespace mert::kmeans_detail
