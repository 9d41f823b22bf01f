#pragma once
// The dynamic Bayesian network beat tracker of madmom's DBNBeatTrackingProcessor, offline
// (Viterbi) mode: a frame-wise beat activation (P(beat) per frame, e.g. a probe head's softmax)
// becomes beat times in seconds. State space of Krebs, Böck & Widmer (ISMIR 2015) as madmom's
// BeatStateSpace: one state per frame of every beat interval (in frames) from
// round(60 fps / max_bpm) to round(60 fps / min_bpm) (round half to even, as numpy). Inside a beat
// the position advances one state per frame; from the last state of interval i the chain moves to
// the first state of interval j with probability exp(-lambda |j / i - 1|), normalised over j,
// values <= machine epsilon dropped before normalising. States whose position k / i is below
// 1 / observation_lambda are beat states with log-likelihood log(a), the others
// log((1 - a) / (observation_lambda - 1)). Uniform prior (applied one step before the first frame,
// as madmom's Viterbi does), Viterbi in log space (ties go to the lower state index). With
// `correct`, each run of consecutive beat-state frames in the path gives one beat at its highest
// activation (the first on ties); without it, the frames where the position is a strict local
// minimum (wrapping around the ends) and in a beat state. Plain C++, no libtorch.
// docs/PROBE.md ("Frame-level metrics and the beat tracker") says what is verified against what.
#include <cstdint>
#include <string>
#include <vector>

namespace mert::metrics {

struct DbnOptions {
  double fps = 75;  // frames per second of the activation (MERT: 75)
  double min_bpm = 55, max_bpm = 215;
  // 0: every integer interval (madmom's None). N > 0 and fewer than the integer intervals:
  // log-spaced intervals as madmom (at least N distinct after rounding).
  int num_tempi = 0;
  double transition_lambda = 100;  // > 0; higher prefers a constant tempo
  double observation_lambda = 16;  // > 1; the first 1/lambda of every beat are beat states
  // 0: decode every frame. Else decode only the frames from the first to the last activation
  // >= threshold (madmom's rule, including its quirk: when only frame 0 passes, no beats).
  double threshold = 0;
  bool correct = true;
  // Throws mert::Error naming the parameter: fps, BPMs, lambdas not finite and positive,
  // min_bpm > max_bpm, a shortest interval below one frame, threshold outside [0, 1],
  // num_tempi < 0, or more than 20 million states.
  void validate() const;
  std::string to_string() const;  // "fps=75 min_bpm=55 ..."
};

struct DbnResult {
  std::vector<double> beats;    // seconds, ascending
  double log_probability = 0;   // of the Viterbi path (0 when nothing was decoded)
  int64_t first_frame = 0;      // frames before it were cut by the threshold
  int64_t decoded_frames = 0;   // frames the Viterbi ran on (0: no beats)
};

class DbnBeatTracker {
 public:
  explicit DbnBeatTracker(const DbnOptions& options = {});  // validates; builds the model once
  const DbnOptions& options() const { return opt_; }
  const std::vector<int>& intervals() const { return intervals_; }  // beat intervals in frames, ascending
  int64_t num_states() const { return num_states_; }

  // Activations are probabilities in [0, 1] (anything else throws mert::Error naming the
  // frame). An all-zero activation gives no beats (as madmom). madmom takes log(0) = -inf (and
  // fails when no path is left); here log(0) is log(DBL_MIN) ~ -708, identical to madmom whenever
  // no activation is exactly 0 or 1 and otherwise a path with the fewest such frames. Thread-safe.
  DbnResult track(const std::vector<float>& activation) const;

 private:
  DbnOptions opt_;
  std::vector<int> intervals_;
  int64_t num_states_ = 0;
  std::vector<int64_t> first_state_, last_state_;  // per interval
  std::vector<int32_t> interval_of_;               // per state
  std::vector<std::vector<double>> log_transition_;  // [from interval][to interval], -inf = none
  std::vector<uint8_t> beat_state_;                // per state
  std::vector<double> position_;                   // per state, k / interval
};

// One-call form: DbnBeatTracker(options).track(activation).beats.
std::vector<double> track_beats(const std::vector<float>& activation, const DbnOptions& options = {});

}  // namespace mert::metrics
