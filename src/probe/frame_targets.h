#pragma once
// Frame-level probe targets and decoding, torch-free: the class of every model frame in training
// (beats widened to their neighbours, chords reduced to MARBLE's major/minor vocabulary), and the
// way per-frame classes become chord segments again. Frame t covers [t / fps, (t + 1) / fps).
#include <cstdint>
#include <string>
#include <vector>

#include "mert/metrics.h"

namespace mert::probe {

// Frames a training loss skips (cross-entropy's ignore index).
constexpr int64_t kIgnoreFrame = -100;

std::vector<std::string> beat_class_names();    // {"no-beat", "beat"}
std::vector<std::string> majmin_class_names();  // "N", "C:maj" .. "B:maj", "C:min" .. "B:min"

// The major/minor class of a chord as mir_eval's `majmin` comparison sees it (the first eight
// semitones a major or a minor triad): 0 for N, 1 + root for major, 13 + root for minor, -1 for
// X and every other quality (dim, aug, sus2/4, hdim7), which that comparison leaves out.
int majmin_class(const metrics::Chord& chord);

// 1 at frame round(fps * t) of every beat t (round half to even, as numpy), and at the `widen`
// frames either side of it (MARBLE trains with widen 1); 0 elsewhere. Beats outside the frames
// are dropped.
std::vector<int64_t> beat_frame_targets(const std::vector<double>& beats, int64_t frames, double fps, int widen);

// The majmin class of the segment holding each frame's centre, kIgnoreFrame when no segment holds
// it or the chord has no majmin class. Labels are parsed with metrics::encode_chord (throws
// mert::Error naming a label it refuses).
std::vector<int64_t> chord_frame_targets(const std::vector<metrics::ChordSegment>& reference, int64_t frames, double fps);

// Runs of equal classes as segments [first / fps, (last + 1) / fps), labelled names[class].
std::vector<metrics::ChordSegment> frames_to_segments(const std::vector<int64_t>& classes, double fps,
                                                      const std::vector<std::string>& names);

}  // namespace mert::probe
