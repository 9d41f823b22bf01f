#include "progress.h"

#include <unistd.h>

#include <cstdio>

namespace mert::cli {
namespace {
double since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}
}  // namespace

std::string hms(double s) {
  char buf[32];
  const long t = static_cast<long>(s + 0.5);
  std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  return buf;
}

ProgressReporter::ProgressReporter(bool verbose, double period_sec)
    : tty_(::isatty(STDERR_FILENO)), verbose_(verbose), period_(period_sec) {}

void ProgressReporter::on_start(size_t n_items) {
  // A reporter may watch several runs in turn (mert probe's suites): each starts from zero.
  total_ = n_items;
  done_ = ok_ = failed_ = skipped_ = 0;
  audio_sec_ = compute_sec_ = in_flight_sec_ = 0;
  start_ = last_print_ = std::chrono::steady_clock::now();
}

std::string ProgressReporter::status_line() const {
  const double elapsed = since(start_);
  const double rtf = audio_sec_ > 0 ? compute_sec_ / audio_sec_ : 0;
  const size_t todo = total_ - done_;
  // ETA from the pace of files actually processed (skips are nearly free).
  const size_t worked = ok_ + failed_;
  const double eta = worked > 0 ? elapsed / static_cast<double>(worked) * static_cast<double>(todo) : 0;
  char buf[256];
  std::snprintf(buf, sizeof buf, "%zu/%zu files (%zu ok, %zu failed, %zu skipped) | %.2f h audio | RTF %.3f | %s elapsed | ETA %s",
                done_, total_, ok_, failed_, skipped_, audio_sec_ / 3600, rtf, hms(elapsed).c_str(),
                worked ? hms(eta).c_str() : "?");
  std::string line = buf;
  if (in_flight_sec_ > 0) {
    std::snprintf(buf, sizeof buf, " | current: %.1f min embedded", in_flight_sec_ / 60);
    line += buf;
  }
  return line;
}

void ProgressReporter::on_chunk(double in_flight_audio_sec) {
  in_flight_sec_ = in_flight_audio_sec;
  if (tty_) {
    std::fprintf(stderr, "\r\033[K%s", status_line().c_str());
    bar_visible_ = true;
  } else if (since(last_print_) >= period_) {
    std::fprintf(stderr, "progress: %s\n", status_line().c_str());
    last_print_ = std::chrono::steady_clock::now();
  }
  std::fflush(stderr);
}

void ProgressReporter::on_file(const FileEvent& e) {
  in_flight_sec_ = 0;
  ++done_;
  if (e.kind == FileEvent::Kind::Ok) ++ok_, audio_sec_ += e.audio_sec, compute_sec_ += e.compute_sec;
  if (e.kind == FileEvent::Kind::Failed) ++failed_;
  if (e.kind == FileEvent::Kind::Skipped) ++skipped_;

  std::string line;
  if (e.kind == FileEvent::Kind::Failed) {
    line = "FAILED " + e.path + ": " + e.reason;
  } else if (verbose_) {
    char buf[128];
    std::string shape;
    for (size_t i = 0; i < e.shape.size(); ++i) shape += (i ? ", " : "") + std::to_string(e.shape[i]);
    if (e.kind == FileEvent::Kind::Ok)
      std::snprintf(buf, sizeof buf, "  %.2f s audio  %.2f s  RTF %.3f  [%s]", e.audio_sec, e.compute_sec,
                    e.audio_sec > 0 ? e.compute_sec / e.audio_sec : 0.0, shape.c_str());
    line = std::string(e.kind == FileEvent::Kind::Ok ? "ok     " : "skip   ") + e.path +
           (e.kind == FileEvent::Kind::Ok ? buf : "  (output exists)");
  }
  if (!e.warning.empty()) line += (line.empty() ? "" : "\n") + std::string("warning ") + e.path + ": " + e.warning;
  if (tty_) {
    std::fprintf(stderr, "\r\033[K");
    if (!line.empty()) std::fprintf(stderr, "%s\n", line.c_str());
    std::fprintf(stderr, "%s", status_line().c_str());
    bar_visible_ = true;
  } else {
    if (!line.empty()) std::fprintf(stderr, "%s\n", line.c_str());
    if (since(last_print_) >= period_) {
      std::fprintf(stderr, "progress: %s\n", status_line().c_str());
      last_print_ = std::chrono::steady_clock::now();
    }
  }
  std::fflush(stderr);
}

std::string warned_note(const RunStats& st) {
  if (st.warned == 0) return "";
  return " | " + std::to_string(st.warned) + " decoded with a warning (lines above)";
}

void ProgressReporter::finish() {
  if (tty_ && bar_visible_) std::fprintf(stderr, "\r\033[K");
}

}  // namespace mert::cli
