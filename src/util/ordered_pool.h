#pragma once
// Runs work(i) for i = 0..n-1 on `jobs` threads and hands the results to consume(i, result) on
// the calling thread in index order; consume returns false to stop early (work already started
// is finished and dropped). At most `jobs * 2` results wait in memory, so a slow
// consumer (or a huge result) cannot make memory grow with n. An exception in work(i) is
// captured and passed to consume as the result's error; an exception from consume stops the
// pool and is rethrown after the workers have joined.
#include <condition_variable>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "mert/error.h"

namespace mert {

template <typename R>
struct Outcome {
  std::optional<R> value;
  std::string error;  // non-empty: work(i) threw this message
  bool output_failed = false;  // it was an OutputError: the run, not item i, should stop
};

template <typename R>
void run_ordered(size_t n, int jobs, const std::function<R(size_t, int worker)>& work,
                 const std::function<bool(size_t, Outcome<R>&)>& consume) {
  if (jobs < 1) jobs = 1;
  std::mutex mu;
  std::condition_variable cv;
  std::map<size_t, Outcome<R>> ready;
  size_t next_task = 0, next_emit = 0;
  bool stop = false;
  const size_t window = static_cast<size_t>(jobs) * 2;

  auto worker = [&](int id) {
    while (true) {
      size_t i;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return stop || next_task >= n || next_task < next_emit + window; });
        if (stop || next_task >= n) return;
        i = next_task++;
      }
      Outcome<R> out;
      try {
        out.value.emplace(work(i, id));
      } catch (const OutputError& e) {
        out.error = e.what();
        out.output_failed = true;
      } catch (const std::exception& e) {
        out.error = e.what();
      }
      {
        std::lock_guard<std::mutex> lock(mu);
        ready.emplace(i, std::move(out));
      }
      cv.notify_all();
    }
  };
  std::vector<std::thread> threads;
  for (int j = 0; j < jobs; ++j) threads.emplace_back(worker, j);

  std::exception_ptr failure;
  try {
    while (next_emit < n) {
      Outcome<R> out;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return ready.count(next_emit) > 0; });
        out = std::move(ready.at(next_emit));
        ready.erase(next_emit);
      }
      if (!consume(next_emit, out)) break;
      {
        std::lock_guard<std::mutex> lock(mu);
        ++next_emit;
      }
      cv.notify_all();
    }
  } catch (...) {
    failure = std::current_exception();
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    stop = true;
  }
  cv.notify_all();
  for (auto& t : threads) t.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace mert
