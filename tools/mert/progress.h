#pragma once
// Feedback for long runs: a one-line progress bar on a terminal, plain periodic lines otherwise;
// failures and decoder warnings always on their own line; per-file lines with --verbose.
#include <chrono>
#include <string>

#include "embed/run_observer.h"

namespace mert::cli {

class ProgressReporter : public RunObserver {
 public:
  explicit ProgressReporter(bool verbose, double period_sec = 30.0);
  void on_start(size_t n_items) override;
  void on_file(const FileEvent& e) override;
  void on_chunk(double in_flight_audio_sec) override;
  void finish();  // clears the bar

 private:
  std::string status_line() const;
  bool tty_, verbose_;
  double period_;
  size_t total_ = 0, done_ = 0, ok_ = 0, failed_ = 0, skipped_ = 0;
  double audio_sec_ = 0, compute_sec_ = 0, in_flight_sec_ = 0;
  std::chrono::steady_clock::time_point start_, last_print_;
  bool bar_visible_ = false;
};

// Seconds as h:mm:ss.
std::string hms(double seconds);

// " | N decoded with a warning (lines above)" for the closing summary, or "" when none.
std::string warned_note(const RunStats& st);

}  // namespace mert::cli
