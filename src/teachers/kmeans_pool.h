#pragma once
// A small fork-join worker pool for k-means: parallel_for(tasks, fn) runs fn(task) for every
// task in [0, tasks) on the calling thread plus (threads - 1) workers, and returns when all are
// done. Tasks are handed out dynamically, so callers must make every task's result independent of
// which thread ran it (k-means writes per-task outputs and reduces them in task order, which keeps
// results bit-identical for any thread count). The first exception thrown by a task is rethrown.
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace mert::kmeans_detail {

// Rows per parallel task. Fixed (not derived from the thread count) so that per-task partial sums,
// reduced in task order, give the same bits for any number of threads.
constexpr int64_t kChunkRows = 1024;

class Pool {
 public:
  explicit Pool(int threads);  // 0: hardware concurrency
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  int threads() const { return static_cast<int>(workers_.size()) + 1; }
  void parallel_for(int64_t tasks, const std::function<void(int64_t)>& fn);

  static int resolve_threads(int threads);

 private:
  void worker_loop();
  void run_tasks();

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_, done_;
  const std::function<void(int64_t)>* fn_ = nullptr;
  int64_t tasks_ = 0;
  int64_t next_ = 0;       // next task to hand out (guarded by mu_)
  int64_t finished_ = 0;   // tasks completed in this round
  uint64_t generation_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
};

}  // namespace mert::kmeans_detail
