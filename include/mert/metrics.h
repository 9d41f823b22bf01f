#pragma once
// Evaluation metrics of the MARBLE protocol, numerically equal to the reference libraries
// (scikit-learn for classification / multi-label / regression, mir_eval for keys, beats and
// chords; MDX 2021's global SDR for source separation). Plain C++, no libtorch: row-major [n, c]
// arrays of doubles, beat times and chord segments in seconds, audio as float samples.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace mert::metrics {

// A [rows, cols] row-major matrix of scores or targets.
struct Matrix {
  int64_t rows = 0, cols = 0;
  std::vector<double> data;
  double at(int64_t r, int64_t c) const { return data[static_cast<size_t>(r * cols + c)]; }
};

// Multi-class: targets are class indices in [0, C), scores [N, C] (logits or probabilities).
// accuracy: argmax (first maximum on ties, as numpy) == target; top5_accuracy: target among the
// 5 highest scores (all classes when C <= 5). Equal scores rank the higher class index first, as
// scikit-learn's top_k_accuracy_score (a stable ascending argsort read backwards) does.
// Throws mert::Error for N = 0, a size mismatch, a target outside [0, C) or a non-finite score.
struct MulticlassScores {
  double accuracy = 0, top5_accuracy = 0;
};
MulticlassScores multiclass(const std::vector<int64_t>& targets, const Matrix& scores);

// Multi-label: targets 0/1 [N, C], scores [N, C] (logits). roc_auc_macro / ap_macro as
// scikit-learn's roc_auc_score / average_precision_score with average="macro" over the classes
// that have both a positive and a negative target; f1_macro at threshold 0.5 on sigmoid(scores)
// over the same classes (positive when score > 0, i.e. sigmoid(score) > 0.5). skipped_classes
// counts the classes left out (never a NaN). Equal scores form one threshold (sklearn's
// _binary_clf_curve). Throws mert::Error for a shape mismatch, N = 0, targets other than 0/1,
// non-finite scores, or when every class would be skipped.
struct MultilabelScores {
  double roc_auc_macro = 0, ap_macro = 0, f1_macro = 0;
  int64_t skipped_classes = 0;
};
MultilabelScores multilabel(const Matrix& targets, const Matrix& scores);

// Regression: targets and predictions [N, K]; r2 per output as scikit-learn's r2_score
// (constant target: 1 if predicted exactly, else 0), r2_mean their uniform average. Throws
// mert::Error for a shape mismatch, N < 2 (sklearn: NaN) or non-finite values.
struct RegressionScores {
  std::vector<double> r2;
  double r2_mean = 0;
};
RegressionScores regression(const Matrix& targets, const Matrix& predictions);

// Keys: 24 classes, index = tonic (C=0 .. B=11) + 12 * minor. Parses GiantSteps / mir_eval
// spellings ("Eb minor", "D# minor", "C major", "c# minor"); enharmonics map to the same index.
// As mir_eval.key: tonic case-insensitive, mode exactly "major" or "minor"; mir_eval's 'X' (no
// key) and 'other' mode are not among the 24 classes. Throws mert::Error naming the text for
// anything else.
int key_index(const std::string& text);
std::string key_name(int index);  // "C major", "Eb minor", ... (flats as GiantSteps writes them)
// mir_eval.key.weighted_score for one pair: 1 same key, 0.5 estimate a fifth above in the same
// mode, 0.3 relative, 0.2 parallel, else 0.
double key_weighted_score(int reference, int estimate);
struct KeyScores {
  double weighted_score = 0, accuracy = 0;
};
KeyScores key(const std::vector<int>& references, const std::vector<int>& estimates);

// ---- Beats (mir_eval.beat and MARBLE's beat score; src/metrics/beat.cpp) ----
// Times in seconds, in any order (sorted here; mir_eval.beat refuses unsorted arrays, the
// matching itself does not depend on the order).

// mir_eval.util.match_events: the size of a maximum matching between reference and estimated
// events, a pair allowed when est - window <= ref <= est + window (evaluated in double as
// mir_eval's _fast_hit_windows does). Throws mert::Error for a negative or non-finite window.
int64_t match_events(std::vector<double> reference, std::vector<double> estimated, double window);

// mir_eval.beat.f_measure(reference, estimated, window) on the sorted arrays, without the 5 s
// trimming mir_eval.beat.evaluate applies: 0 when either list is empty (mir_eval warns), else
// 2PR / (P + R) with P = matches / #estimated, R = matches / #reference (0 when no match).
// Throws mert::Error for a non-finite time or one above 30000 s (mir_eval refuses those).
double beat_f_measure(std::vector<double> reference, std::vector<double> estimated, double window = 0.07);

struct BeatTrack {
  std::vector<double> reference, estimated;
};
struct BeatScores {
  // MARBLE: matches, reference and estimated beats summed over the tracks, then P, R and
  // F = 2PR / (P + R); P (R) is 0 without estimated (reference) beats, F is 0 when P + R = 0.
  double f_measure = 0, precision = 0, recall = 0;
  int64_t matched = 0, reference_beats = 0, estimated_beats = 0;
  double mean_f_measure = 0;         // mean over the tracks of beat_f_measure
  std::vector<double> per_track;     // beat_f_measure of each track, in input order
  int64_t empty_reference = 0, empty_estimate = 0;  // tracks without beats (F = 0 for them)
};
// Throws mert::Error for no tracks and for the inputs beat_f_measure refuses.
BeatScores beat(const std::vector<BeatTrack>& tracks, double window = 0.07);

// A beat file: one beat a line, the time first, e.g. `0.500000<TAB>1` (GTZAN-Rhythm style, as
// `mert synth beat` writes: time and position in the bar) or just `0.5`; fields split at white
// space, further fields ignored; blank lines and lines starting with '#' skipped. An empty file is
// no beats. Throws mert::Error naming file:line for a missing file, a time that is not a finite
// number, or one above 30000 s.
std::vector<double> read_beat_times(const std::string& path);

// ---- Chords (mir_eval.chord; src/metrics/chord.cpp) ----
// A chord label as mir_eval.chord.encode reads it (Harte et al. 2005 syntax, the JAMS grammar):
// root 0..11 (-1 for N and X), the 12 semitones relative to the root that sound (N: all 0, X:
// all -1; the bass is always among them) and the bass relative to the root (-1 for N and X).
struct Chord {
  int root = -1;
  std::array<int, 12> semitones{};
  int bass = -1;
};
// Throws mert::Error naming the label when mir_eval would raise (outside the grammar, or a
// quality the grammar allows but mir_eval cannot encode: aug7, maj11).
Chord encode_chord(const std::string& label);

struct ChordSegment {
  double start = 0, end = 0;
  std::string label;
};
struct ChordTrack {
  std::vector<ChordSegment> reference, estimated;
};
// One track as mir_eval.chord.evaluate scores it: the estimate cut or extended with N to the
// reference's span (util.adjust_intervals), both split at every boundary of either
// (util.merge_labeled_intervals; a gap takes the label of the segment before it), each piece
// weighted by its duration. `majmin` and `root` are evaluate's values (0 when no time is
// comparable); the seconds behind them are kept so a set can be weighted by duration.
struct ChordTrackScores {
  double majmin = 0, root = 0;
  double majmin_correct = 0, majmin_scored = 0;  // seconds: correct, and comparable (ref not X / out of gamut)
  double root_correct = 0, root_scored = 0;
  double duration = 0;                           // the reference's span
};
// Segments in any order (sorted by start time, stably). Throws mert::Error for an empty
// reference, a segment ending before it starts, overlapping segments, a negative reference time,
// non-finite times, or a label encode_chord refuses.
ChordTrackScores chord_track(const ChordTrack& track);
struct ChordScores {
  double majmin = 0, root = 0;            // over the set: sum of correct / sum of comparable seconds
  double majmin_mean = 0, root_mean = 0;  // mean over the tracks of the per-track values
  double duration = 0, majmin_scored = 0, root_scored = 0;  // seconds, summed over the tracks
  std::vector<ChordTrackScores> per_track;                  // in input order
};
ChordScores chord(const std::vector<ChordTrack>& tracks);

// A .lab file as mir_eval.io.load_labeled_intervals reads it: `start end label` split at white
// space (tabs as `mert synth chords` writes), the label the rest of the line; blank lines and
// lines starting with '#' skipped. Throws mert::Error naming file:line for a missing file, a
// line with fewer than three fields or a time that is not a finite number.
std::vector<ChordSegment> read_chord_lab(const std::string& path);

// ---- Source separation (src/metrics/sdr.cpp) ----
// Global SDR in dB as MDX 2021 / MARBLE define it (one number per track and source):
// 10 log10((sum s^2 + 1e-7) / (sum (s - e)^2 + 1e-7)), summed in double over all samples. An
// estimate of another length is cut or zero-padded to the reference's length first (museval's
// pad_or_truncate rule).
double global_sdr(const std::vector<float>& reference, const std::vector<float>& estimate);
struct SdrSummary {
  double mean = 0, median = 0;  // numpy mean and median (the middle two averaged) over tracks
  int64_t tracks = 0;
};
// Throws mert::Error for no values or a non-finite one.
SdrSummary summarize_sdr(const std::vector<double>& per_track);

}  // namespace mert::metrics
