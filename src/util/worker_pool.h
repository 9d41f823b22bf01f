#pragma once
// A fork-join worker pool: parallel_for(tasks, fn) runs fn(task) for every task in [0, tasks)
// on the calling thread plus (threads - 1) workers, and returns when all are done. Tasks are
// handed out dynamically, so callers must make every task's result independent of which thread
// ran it (k-means writes per-task outputs and reduces them in task order, which keeps results
// bit-identical for any thread count; synth and probe results are per item). The first
// exception thrown by a task is rethrown; tasks not yet started are then skipped. The workers
// live as long as the pool, so repeated parallel_for calls (k-means iterations) start no threads.
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace mert::util {

class WorkerPool {
 public:
  explicit WorkerPool(int threads);  // 0: hardware concurrency
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  int threads() const { return static_cast<int>(workers_.size()) + 1; }
  // fn(task, worker): worker is 0 for the calling thread, 1..threads()-1 for the pool's own, so
  // callers can keep per-thread state in a vector indexed by it.
  void parallel_for(int64_t tasks, const std::function<void(int64_t task, int worker)>& fn);
  void parallel_for(int64_t tasks, const std::function<void(int64_t task)>& fn) {
    parallel_for(tasks, [&fn](int64_t task, int) { fn(task); });
  }

  static int resolve_threads(int threads);

 private:
  void worker_loop(int worker);
  void run_tasks(int worker);

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_, done_;
  const std::function<void(int64_t, int)>* fn_ = nullptr;
  int64_t tasks_ = 0;
  int64_t next_ = 0;       // next task to hand out (guarded by mu_)
  int64_t finished_ = 0;   // tasks completed in this round
  uint64_t generation_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
};

}  // namespace mert::util
