#include "probe/frame_targets.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "mert/error.h"

namespace mert::probe {
namespace {

const char* const kRoots[12] = {"C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"};

}  // namespace

std::vector<std::string> beat_class_names() { return {"no-beat", "beat"}; }

std::vector<std::string> majmin_class_names() {
  std::vector<std::string> names{"N"};
  for (const char* r : kRoots) names.push_back(std::string(r) + ":maj");
  for (const char* r : kRoots) names.push_back(std::string(r) + ":min");
  return names;
}

int majmin_class(const metrics::Chord& chord) {
  if (chord.root < 0) return chord.semitones[0] == 0 ? 0 : -1;  // N has no semitones; X has -1s
  static constexpr std::array<int, 8> kMaj{1, 0, 0, 0, 1, 0, 0, 1}, kMin{1, 0, 0, 1, 0, 0, 0, 1};
  std::array<int, 8> head{};
  std::copy(chord.semitones.begin(), chord.semitones.begin() + 8, head.begin());
  if (head == kMaj) return 1 + chord.root;
  if (head == kMin) return 13 + chord.root;
  return -1;
}

std::vector<int64_t> beat_frame_targets(const std::vector<double>& beats, int64_t frames, double fps, int widen) {
  if (frames < 0 || !(fps > 0) || widen < 0) throw Error("beat targets: bad frame count, rate or widening");
  std::vector<int64_t> y(static_cast<size_t>(frames), 0);
  for (double t : beats) {
    const double f = std::nearbyint(t * fps);  // default rounding mode: half to even
    if (!(f >= 0) || f >= static_cast<double>(frames)) continue;
    const auto c = static_cast<int64_t>(f);
    for (int64_t k = std::max<int64_t>(0, c - widen); k <= std::min<int64_t>(frames - 1, c + widen); ++k)
      y[static_cast<size_t>(k)] = 1;
  }
  return y;
}

std::vector<int64_t> chord_frame_targets(const std::vector<metrics::ChordSegment>& reference, int64_t frames, double fps) {
  if (frames < 0 || !(fps > 0)) throw Error("chord targets: bad frame count or rate");
  std::vector<metrics::ChordSegment> segs = reference;
  std::stable_sort(segs.begin(), segs.end(), [](const auto& a, const auto& b) { return a.start < b.start; });
  std::vector<int> cls;
  for (const auto& s : segs) cls.push_back(majmin_class(metrics::encode_chord(s.label)));
  std::vector<int64_t> y(static_cast<size_t>(frames), kIgnoreFrame);
  size_t k = 0;
  for (int64_t t = 0; t < frames; ++t) {
    const double centre = (static_cast<double>(t) + 0.5) / fps;
    while (k < segs.size() && segs[k].end <= centre) ++k;
    if (k < segs.size() && segs[k].start <= centre && cls[k] >= 0) y[static_cast<size_t>(t)] = cls[k];
  }
  return y;
}

std::vector<metrics::ChordSegment> frames_to_segments(const std::vector<int64_t>& classes, double fps,
                                                      const std::vector<std::string>& names) {
  std::vector<metrics::ChordSegment> out;
  for (size_t t = 0; t < classes.size();) {
    size_t e = t + 1;
    while (e < classes.size() && classes[e] == classes[t]) ++e;
    const int64_t c = classes[t];
    if (c < 0 || c >= static_cast<int64_t>(names.size())) throw Error("chord decoding: class " + std::to_string(c) + " out of range");
    out.push_back({static_cast<double>(t) / fps, static_cast<double>(e) / fps, names[static_cast<size_t>(c)]});
    t = e;
  }
  return out;
}

}  // namespace mert::probe
