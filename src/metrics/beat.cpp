// Beat tracking scores as mir_eval.beat.f_measure and MARBLE compute them: a maximum matching of
// reference and estimated beats within a tolerance window (mir_eval.util.match_events), per
// track and with the counts summed over a set.
#include <algorithm>
#include <cmath>
#include <string>

#include "mert/error.h"
#include "mert/metrics.h"
#include "metrics/annotation_file.h"

namespace mert::metrics {
namespace {

constexpr double kMaxTime = 30000.0;  // mir_eval.beat.MAX_TIME: later times are refused

void check_times(const std::vector<double>& t, const char* what, bool limit) {
  for (size_t i = 0; i < t.size(); ++i) {
    if (!std::isfinite(t[i]))
      throw Error(std::string(what) + " beat " + std::to_string(i) + " is not a finite time");
    if (limit && t[i] > kMaxTime)
      throw Error(std::string(what) + " beat at " + std::to_string(t[i]) +
                  " s is past mir_eval's 30000 s limit (times must be in seconds)");
  }
}

// Both sorted. Each estimate e may pair with the references in [e - window, e + window], a
// contiguous range of the sorted references whose ends never move left as e grows (rounding is
// monotone). For such a graph, taking the estimates in order and giving each the first free
// reference in its range is a maximum matching (earliest deadline first).
int64_t match_sorted(const std::vector<double>& ref, const std::vector<double>& est, double window) {
  int64_t matched = 0;
  size_t next_free = 0;  // references before this one are matched or out of every later range
  for (double e : est) {
    const double lo = e - window, hi = e + window;
    size_t r = std::max(next_free, static_cast<size_t>(std::lower_bound(ref.begin(), ref.end(), lo) - ref.begin()));
    if (r < ref.size() && ref[r] <= hi) {
      ++matched;
      next_free = r + 1;
    }
  }
  return matched;
}

void check_window(double window) {
  if (!std::isfinite(window) || window < 0)
    throw Error("the tolerance window must be a finite number >= 0, got " + std::to_string(window));
}

double f_of(int64_t matched, int64_t n_ref, int64_t n_est) {
  const double p = n_est ? static_cast<double>(matched) / static_cast<double>(n_est) : 0.0;
  const double r = n_ref ? static_cast<double>(matched) / static_cast<double>(n_ref) : 0.0;
  return p + r > 0 ? 2 * p * r / (p + r) : 0.0;
}

}  // namespace

int64_t match_events(std::vector<double> reference, std::vector<double> estimated, double window) {
  check_window(window);
  check_times(reference, "reference", false);
  check_times(estimated, "estimated", false);
  std::sort(reference.begin(), reference.end());
  std::sort(estimated.begin(), estimated.end());
  return match_sorted(reference, estimated, window);
}

double beat_f_measure(std::vector<double> reference, std::vector<double> estimated, double window) {
  check_window(window);
  check_times(reference, "reference", true);
  check_times(estimated, "estimated", true);
  if (reference.empty() || estimated.empty()) return 0.0;
  const auto n_ref = static_cast<int64_t>(reference.size()), n_est = static_cast<int64_t>(estimated.size());
  return f_of(match_events(std::move(reference), std::move(estimated), window), n_ref, n_est);
}

BeatScores beat(const std::vector<BeatTrack>& tracks, double window) {
  if (tracks.empty()) throw Error("no tracks to score");
  BeatScores s;
  double f_sum = 0;
  for (const BeatTrack& t : tracks) {
    const double f = beat_f_measure(t.reference, t.estimated, window);
    s.per_track.push_back(f);
    f_sum += f;
    s.matched += match_events(t.reference, t.estimated, window);
    s.reference_beats += static_cast<int64_t>(t.reference.size());
    s.estimated_beats += static_cast<int64_t>(t.estimated.size());
    s.empty_reference += t.reference.empty();
    s.empty_estimate += t.estimated.empty();
  }
  s.mean_f_measure = f_sum / static_cast<double>(tracks.size());
  s.precision = s.estimated_beats ? static_cast<double>(s.matched) / static_cast<double>(s.estimated_beats) : 0.0;
  s.recall = s.reference_beats ? static_cast<double>(s.matched) / static_cast<double>(s.reference_beats) : 0.0;
  s.f_measure = f_of(s.matched, s.reference_beats, s.estimated_beats);
  return s;
}

std::vector<double> read_beat_times(const std::string& path) {
  std::vector<double> times;
  for (const auto& line : detail::read_annotation_lines(path)) {
    const std::string where = path + ":" + std::to_string(line.number);
    const double t = detail::parse_time(line.fields[0], where);
    if (t > kMaxTime) throw Error(where + ": " + line.fields[0] + " s is past mir_eval's 30000 s limit (seconds expected)");
    times.push_back(t);
  }
  return times;
}

}  // namespace mert::metrics
