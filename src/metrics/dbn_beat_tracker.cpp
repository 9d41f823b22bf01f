// madmom's DBNBeatTrackingProcessor (offline Viterbi) re-implemented from its published
// description (Böck et al. 2014, Krebs et al. 2015) and madmom's documented parameters; see
// include/mert/beat_tracker.h for the model.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <string>

#include "mert/beat_tracker.h"
#include "mert/error.h"

namespace mert::metrics {
namespace {

constexpr int64_t kMaxStates = 20'000'000;

// numpy.round: to the nearest integer, halves to even (the default FE_TONEAREST mode).
double round_half_even(double v) { return std::nearbyint(v); }

// madmom's BeatStateSpace intervals: every integer from round(min) to round(max), or with
// num_tempi below that count the unique rounded values of a log2-spaced grid, the grid grown
// until it holds at least num_tempi of them (numpy.logspace(log2 min, log2 max, n, base=2)).
std::vector<int> beat_intervals(double min_interval, double max_interval, int num_tempi) {
  std::vector<int> linear;
  for (double v = round_half_even(min_interval); v <= round_half_even(max_interval); v += 1) linear.push_back(static_cast<int>(v));
  if (num_tempi <= 0 || static_cast<size_t>(num_tempi) >= linear.size()) return linear;
  std::vector<int> out;
  for (int n = num_tempi; out.size() < static_cast<size_t>(num_tempi); ++n) {
    const double a = std::log2(min_interval), b = std::log2(max_interval);
    const double step = n > 1 ? (b - a) / (n - 1) : 0.0;
    out.clear();
    for (int k = 0; k < n; ++k) {
      const double e = (n > 1 && k == n - 1) ? b : a + k * step;  // linspace puts `stop` exactly last
      out.push_back(static_cast<int>(round_half_even(std::pow(2.0, e))));
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
  }
  return out;
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

void DbnOptions::validate() const {
  auto positive = [](double v, const char* name) {
    if (!std::isfinite(v) || v <= 0) throw Error(std::string("DBN ") + name + " must be a finite number > 0, got " + num(v));
  };
  positive(fps, "fps");
  positive(min_bpm, "min_bpm");
  positive(max_bpm, "max_bpm");
  positive(transition_lambda, "transition_lambda");
  if (min_bpm > max_bpm) throw Error("DBN min_bpm " + num(min_bpm) + " is above max_bpm " + num(max_bpm));
  if (!std::isfinite(observation_lambda) || observation_lambda <= 1)
    throw Error("DBN observation_lambda must be a finite number > 1, got " + num(observation_lambda));
  if (!(threshold >= 0 && threshold <= 1)) throw Error("DBN threshold must be in [0, 1], got " + num(threshold));
  if (num_tempi < 0) throw Error("DBN num_tempi must be >= 0 (0: every integer interval), got " + std::to_string(num_tempi));
  const double lo = round_half_even(60.0 * fps / max_bpm), hi = round_half_even(60.0 * fps / min_bpm);
  if (lo < 1)
    throw Error("DBN: the shortest beat interval round(60 * fps / max_bpm) = " + num(lo) +
                " frames; it must be at least 1 (lower max_bpm or raise fps)");
  if ((lo + hi) * (hi - lo + 1) / 2 > static_cast<double>(kMaxStates))
    throw Error("DBN: intervals " + num(lo) + ".." + num(hi) + " frames need more than 20 million states (fps " +
                num(fps) + ", BPM " + num(min_bpm) + ".." + num(max_bpm) + ")");
}

std::string DbnOptions::to_string() const {
  return "fps=" + num(fps) + " min_bpm=" + num(min_bpm) + " max_bpm=" + num(max_bpm) +
         " num_tempi=" + (num_tempi ? std::to_string(num_tempi) : std::string("all")) +
         " transition_lambda=" + num(transition_lambda) + " observation_lambda=" + num(observation_lambda) +
         " threshold=" + num(threshold) + " correct=" + (correct ? "true" : "false");
}

DbnBeatTracker::DbnBeatTracker(const DbnOptions& options) : opt_(options) {
  opt_.validate();
  intervals_ = beat_intervals(60.0 * opt_.fps / opt_.max_bpm, 60.0 * opt_.fps / opt_.min_bpm, opt_.num_tempi);
  const double border = 1.0 / opt_.observation_lambda;
  for (size_t j = 0; j < intervals_.size(); ++j) {
    const int len = intervals_[j];
    first_state_.push_back(num_states_);
    last_state_.push_back(num_states_ + len - 1);
    const double step = 1.0 / len;  // numpy.linspace(0, 1, len, endpoint=False): k * (1 / len)
    for (int k = 0; k < len; ++k) {
      position_.push_back(k * step);
      beat_state_.push_back(k * step < border);
      interval_of_.push_back(static_cast<int32_t>(j));
    }
    num_states_ += len;
  }
  const size_t n = intervals_.size();
  log_transition_.assign(n, std::vector<double>(n, -INFINITY));
  for (size_t i = 0; i < n; ++i) {
    std::vector<double> p(n);
    double sum = 0;
    for (size_t j = 0; j < n; ++j) {
      const double ratio = static_cast<double>(intervals_[j]) / static_cast<double>(intervals_[i]);
      p[j] = std::exp(-opt_.transition_lambda * std::fabs(ratio - 1.0));
      if (p[j] <= DBL_EPSILON) p[j] = 0;
      sum += p[j];
    }
    for (size_t j = 0; j < n; ++j)
      if (p[j] > 0) log_transition_[i][j] = std::log(p[j] / sum);
  }
}

DbnResult DbnBeatTracker::track(const std::vector<float>& activation) const {
  for (size_t t = 0; t < activation.size(); ++t)
    if (!(activation[t] >= 0.0f && activation[t] <= 1.0f))
      throw Error("beat activation at frame " + std::to_string(t) + " is " + num(activation[t]) +
                  ", not a probability in [0, 1]");
  DbnResult res;
  // madmom: with a threshold, keep the frames from the first to the last one at or above it
  // (`if idx.any()` is false when only frame 0 passes: nothing is kept then).
  size_t first = 0, last = activation.size();
  if (opt_.threshold != 0) {
    size_t lo = activation.size(), hi = 0;
    for (size_t t = 0; t < activation.size(); ++t)
      if (activation[t] >= opt_.threshold) {
        lo = std::min(lo, t);
        hi = t + 1;
      }
    if (hi > 1) {
      first = lo;
      last = hi;
    } else {
      last = first;
    }
  }
  const float* a = activation.data() + first;
  const size_t frames = last - first;
  res.first_frame = static_cast<int64_t>(first);
  if (std::none_of(a, a + frames, [](float v) { return v != 0.0f; })) return res;
  res.decoded_frames = static_cast<int64_t>(frames);

  const size_t ns = static_cast<size_t>(num_states_), ni = intervals_.size();
  std::vector<double> prev(ns, std::log(1.0 / static_cast<double>(ns))), cur(ns);
  // Back-pointers only where there is a choice: into the first state of each interval.
  std::vector<int32_t> from_interval(frames * ni);
  for (size_t t = 0; t < frames; ++t) {
    const double x = a[t];
    const double log_beat = std::log(std::max(x, DBL_MIN));
    const double log_non_beat = std::log(std::max((1.0 - x) / (opt_.observation_lambda - 1.0), DBL_MIN));
    for (size_t j = 0; j < ni; ++j) {
      const size_t s0 = static_cast<size_t>(first_state_[j]);
      // Inside the beat: one predecessor, probability 1 (log-probability 0).
      for (size_t s = s0 + 1; s < s0 + static_cast<size_t>(intervals_[j]); ++s)
        cur[s] = prev[s - 1] + (beat_state_[s] ? log_beat : log_non_beat);
      // Into the beat's first state: from the last state of every interval (ascending, strict >).
      const double density = beat_state_[s0] ? log_beat : log_non_beat;
      double best = -INFINITY;
      int32_t arg = 0;
      for (size_t i = 0; i < ni; ++i) {
        const double lt = log_transition_[i][j];
        if (lt == -INFINITY) continue;
        const double v = prev[static_cast<size_t>(last_state_[i])] + lt + density;
        if (v > best) {
          best = v;
          arg = static_cast<int32_t>(i);
        }
      }
      cur[s0] = best;
      from_interval[t * ni + j] = arg;
    }
    std::swap(prev, cur);
  }
  // prev holds the last frame. Best final state (the first maximum), then back-track.
  size_t state = static_cast<size_t>(std::max_element(prev.begin(), prev.end()) - prev.begin());
  res.log_probability = prev[state];
  std::vector<size_t> path(frames);
  for (size_t t = frames; t-- > 0;) {
    path[t] = state;
    if (t == 0) break;
    const auto j = static_cast<size_t>(interval_of_[state]);
    state = state == static_cast<size_t>(first_state_[j])
                ? static_cast<size_t>(last_state_[static_cast<size_t>(from_interval[t * ni + j])])
                : state - 1;
  }
  std::vector<size_t> beat_frames;
  if (opt_.correct) {
    for (size_t t = 0; t < frames;) {
      if (!beat_state_[path[t]]) {
        ++t;
        continue;
      }
      size_t end = t, peak = t;
      for (; end < frames && beat_state_[path[end]]; ++end)
        if (a[end] > a[peak]) peak = end;
      beat_frames.push_back(peak);
      t = end;
    }
  } else {
    // scipy.signal.argrelmin(position[path], mode='wrap'), kept where the state is a beat state.
    for (size_t t = 0; t < frames; ++t) {
      const double p = position_[path[t]];
      if (p < position_[path[(t + frames - 1) % frames]] && p < position_[path[(t + 1) % frames]] && beat_state_[path[t]])
        beat_frames.push_back(t);
    }
  }
  for (size_t f : beat_frames) res.beats.push_back(static_cast<double>(f + first) / opt_.fps);
  return res;
}

std::vector<double> track_beats(const std::vector<float>& activation, const DbnOptions& options) {
  return DbnBeatTracker(options).track(activation).beats;
}

}  // namespace mert::metrics
