// Chord recognition scores as mir_eval.chord (0.7) computes them: labels encoded by
// mir_eval.chord.encode (root, semitone bitmap, bass), the `majmin` and `root` comparisons, and
// evaluate's alignment of an estimate to the reference (util.adjust_intervals, then
// util.merge_labeled_intervals) with every piece weighted by its duration.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <regex>
#include <set>
#include <string>

#include "mert/error.h"
#include "mert/metrics.h"
#include "metrics/annotation_file.h"

namespace mert::metrics {
namespace {

// mir_eval.chord.validate_chord_label: the JAMS chord namespace's grammar (Harte et al. 2005).
const std::regex& label_grammar() {
  static const std::regex re(
      R"(^((N|X)|(([A-G](b*|#*))((:(maj|min|dim|aug|1|5|sus2|sus4|maj6|min6|7|maj7|min7|dim7|hdim7|minmaj7|aug7|9|maj9|min9|11|maj11|min11|13|maj13|min13)(\((\*?((b*|#*)([1-9]|1[0-3]?))(,\*?((b*|#*)([1-9]|1[0-3]?)))*)\))?)|(:\((\*?((b*|#*)([1-9]|1[0-3]?))(,\*?((b*|#*)([1-9]|1[0-3]?)))*)\)))?((/((b*|#*)([1-9]|1[0-3]?)))?)?))$)",
      std::regex::ECMAScript | std::regex::optimize);
  return re;
}

using Bitmap = std::array<int, 12>;

// mir_eval.chord.QUALITIES (semitones above the root). aug7 and maj11 pass the grammar but are
// missing here, so mir_eval (and this code) refuses them.
const std::map<std::string, Bitmap>& qualities() {
  static const std::map<std::string, Bitmap> q = {
      {"maj", {1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0}},     {"min", {1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0}},
      {"aug", {1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0}},     {"dim", {1, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0}},
      {"sus4", {1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0}},    {"sus2", {1, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0}},
      {"7", {1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0}},       {"maj7", {1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1}},
      {"min7", {1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0}},    {"minmaj7", {1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1}},
      {"maj6", {1, 0, 0, 0, 1, 0, 0, 1, 0, 1, 0, 0}},    {"min6", {1, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0, 0}},
      {"dim7", {1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0}},    {"hdim7", {1, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0}},
      {"maj9", {1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1}},    {"min9", {1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0}},
      {"9", {1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0}},       {"b9", {1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0}},
      {"#9", {1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0}},      {"min11", {1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0}},
      {"11", {1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0}},      {"#11", {1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0}},
      {"maj13", {1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1}},   {"min13", {1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0}},
      {"13", {1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0}},      {"b13", {1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0}},
      {"1", {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},       {"5", {1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0}},
      {"", {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}}};
  return q;
}

std::string seconds(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

int py_mod12(int v) { return ((v % 12) + 12) % 12; }

// Python's str.strip(ch): `ch` removed from both ends.
std::string strip(const std::string& s, char ch) {
  size_t a = 0, b = s.size();
  while (a < b && s[a] == ch) ++a;
  while (b > a && s[b - 1] == ch) --b;
  return s.substr(a, b - a);
}

Error bad_label(const std::string& label, const std::string& why) {
  return Error("invalid chord label '" + label + "': " + why);
}

// mir_eval.chord.scale_degree_to_semitone: '#'/'b' prefixes count, then 1..13; not wrapped.
int scale_degree_to_semitone(std::string degree, const std::string& label) {
  static const std::map<std::string, int> kDegrees = {{"1", 0},   {"2", 2},   {"3", 4},   {"4", 5},  {"5", 7},
                                                      {"6", 9},   {"7", 11},  {"8", 12},  {"9", 14}, {"10", 16},
                                                      {"11", 17}, {"12", 19}, {"13", 21}};
  int offset = 0;
  if (!degree.empty() && degree[0] == '#') {
    offset = static_cast<int>(std::count(degree.begin(), degree.end(), '#'));
    degree = strip(degree, '#');
  } else if (!degree.empty() && degree[0] == 'b') {
    offset = -static_cast<int>(std::count(degree.begin(), degree.end(), 'b'));
    degree = strip(degree, 'b');
  }
  const auto it = kDegrees.find(degree);
  if (it == kDegrees.end()) throw bad_label(label, "scale degree '" + degree + "' is not 1..13");
  return it->second + offset;
}

// The pieces both sequences are cut into, with the index of each sequence's segment covering it.
struct Piece {
  double duration;
  size_t ref, est;
};

// Sorted by start (stably); refuses what mir_eval would refuse or mis-align on.
std::vector<ChordSegment> checked(std::vector<ChordSegment> segs, const char* what, bool allow_negative) {
  std::stable_sort(segs.begin(), segs.end(),
                   [](const ChordSegment& a, const ChordSegment& b) { return a.start < b.start; });
  for (size_t i = 0; i < segs.size(); ++i) {
    const ChordSegment& s = segs[i];
    const std::string name = std::string(what) + " segment [" + seconds(s.start) + ", " + seconds(s.end) +
                             "] '" + s.label + "'";
    if (!std::isfinite(s.start) || !std::isfinite(s.end)) throw Error(name + " has a non-finite time");
    if (s.end < s.start) throw Error(name + " ends before it starts");
    if (!allow_negative && s.start < 0) throw Error(name + " starts before 0 (mir_eval refuses negative reference times)");
    if (i > 0 && s.start < segs[i - 1].end)
      throw Error(name + " overlaps the one before it [" + seconds(segs[i - 1].start) + ", " +
                  seconds(segs[i - 1].end) + "] '" + segs[i - 1].label + "'");
  }
  return segs;
}

// mir_eval.util.adjust_intervals(est, labels, t_min, t_max, 'N', 'N') on sorted, non-overlapping
// segments: dropped before t_min / after t_max, clipped, and padded with N at either end.
std::vector<ChordSegment> adjust(std::vector<ChordSegment> e, double t_min, double t_max) {
  if (e.empty()) return {{t_min, t_max, "N"}};
  const auto first = std::find_if(e.begin(), e.end(), [&](const ChordSegment& s) { return s.end >= t_min; });
  if (first != e.end()) e.erase(e.begin(), first);
  double lo = t_min;
  bool init = false;
  for (auto& s : e) {
    s.start = std::max(t_min, s.start);
    s.end = std::max(t_min, s.end);
    lo = init ? std::min({lo, s.start, s.end}) : std::min(s.start, s.end);
    init = true;
  }
  if (lo > t_min) e.insert(e.begin(), ChordSegment{t_min, lo, "N"});
  const auto last = std::find_if(e.begin(), e.end(), [&](const ChordSegment& s) { return s.start > t_max; });
  e.erase(last, e.end());
  if (e.empty()) throw Error("chord alignment: no estimated segment left inside the reference's span");
  double hi = -INFINITY;
  for (auto& s : e) {
    s.start = std::min(t_max, s.start);
    s.end = std::min(t_max, s.end);
    hi = std::max({hi, s.start, s.end});
  }
  if (hi < t_max) e.push_back(ChordSegment{hi, t_max, "N"});
  return e;
}

// mir_eval.util.merge_labeled_intervals: every distinct boundary of either sequence starts a
// piece; each sequence contributes its last segment (in order) starting at or before it.
std::vector<Piece> merge(const std::vector<ChordSegment>& ref, const std::vector<ChordSegment>& est) {
  if (ref.front().start != est.front().start || ref.back().end != est.back().end)
    throw Error("chord alignment: the estimate does not span the reference after adjusting");
  std::vector<double> b;
  for (const auto* v : {&ref, &est})
    for (const auto& s : *v) {
      b.push_back(s.start);
      b.push_back(s.end);
    }
  std::sort(b.begin(), b.end());
  b.erase(std::unique(b.begin(), b.end()), b.end());
  auto covering = [](const std::vector<ChordSegment>& v, double t0) {
    const auto it = std::upper_bound(v.begin(), v.end(), t0,
                                     [](double t, const ChordSegment& s) { return t < s.start; });
    return static_cast<size_t>(it - v.begin()) - 1;
  };
  std::vector<Piece> pieces;
  for (size_t k = 0; k + 1 < b.size(); ++k)
    pieces.push_back(Piece{std::fabs(b[k + 1] - b[k]), covering(ref, b[k]), covering(est, b[k])});
  return pieces;
}

bool same8(const Bitmap& a, const Bitmap& b) { return std::equal(a.begin(), a.begin() + 8, b.begin()); }

// mir_eval.chord.majmin for one pair: 1/0, or -1 when the reference is not maj, min or N.
double majmin_score(const Chord& r, const Chord& e) {
  static const Bitmap maj = qualities().at("maj"), min = qualities().at("min");
  const bool is_none = r.root < 0 && std::all_of(r.semitones.begin(), r.semitones.end(), [](int v) { return v == 0; });
  if (!same8(r.semitones, maj) && !same8(r.semitones, min) && !is_none) return -1;
  return r.root == e.root && same8(r.semitones, e.semitones) ? 1 : 0;
}

// mir_eval.chord.root for one pair: 1/0, or -1 when the reference is X.
double root_score(const Chord& r, const Chord& e) {
  if (std::any_of(r.semitones.begin(), r.semitones.end(), [](int v) { return v < 0; })) return -1;
  return r.root == e.root ? 1 : 0;
}

}  // namespace

Chord encode_chord(const std::string& label) {
  Chord c;
  if (label == "N") return c;
  if (label == "X") {
    c.semitones.fill(-1);
    return c;
  }
  if (!std::regex_match(label, label_grammar())) throw bad_label(label, "not in Harte's chord syntax as mir_eval reads it");
  // mir_eval.chord.split
  std::string rest = label, bass = "1";
  if (const size_t slash = rest.find('/'); slash != std::string::npos) {
    bass = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  std::set<std::string> degrees;
  if (const size_t paren = rest.find('('); paren != std::string::npos) {
    std::string inner = strip(rest.substr(paren + 1), ')');
    rest = rest.substr(0, paren);
    size_t pos = 0;
    while (true) {
      const size_t comma = inner.find(',', pos);
      degrees.insert(inner.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos));
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
  }
  std::string quality = degrees.empty() ? "maj" : "", root = rest;
  if (const size_t colon = rest.find(':'); colon != std::string::npos) {
    root = rest.substr(0, colon);
    if (colon + 1 < rest.size()) quality = rest.substr(colon + 1);
  }
  // mir_eval.chord.encode
  const auto q = qualities().find(quality);
  if (q == qualities().end()) throw bad_label(label, "mir_eval has no bitmap for the quality '" + quality + "'");
  static const int kPitch[7] = {9, 11, 0, 2, 4, 5, 7};  // A..G
  int semitone = kPitch[root[0] - 'A'];
  for (size_t i = 1; i < root.size(); ++i) semitone += root[i] == '#' ? 1 : -1;
  c.root = py_mod12(semitone);
  c.bass = py_mod12(scale_degree_to_semitone(bass, label));
  Bitmap bits = q->second;
  bits[0] = 1;
  for (const std::string& d : degrees) {
    const int sign = !d.empty() && d[0] == '*' ? -1 : 1;
    const int idx = scale_degree_to_semitone(sign < 0 ? strip(d, '*') : d, label);
    if (idx < 12) bits[static_cast<size_t>(py_mod12(idx))] += sign;
  }
  for (int& v : bits) v = v > 0 ? 1 : 0;
  bits[static_cast<size_t>(c.bass)] = 1;
  c.semitones = bits;
  return c;
}

ChordTrackScores chord_track(const ChordTrack& track) {
  if (track.reference.empty()) throw Error("the reference has no chord segments");
  const std::vector<ChordSegment> ref = checked(track.reference, "reference", false);
  const std::vector<ChordSegment> est0 = checked(track.estimated, "estimated", true);
  const double t_min = ref.front().start, t_max = ref.back().end;
  if (!(t_max > t_min)) throw Error("the reference covers no time (its segments have zero length)");
  const std::vector<ChordSegment> est = adjust(est0, t_min, t_max);
  std::map<std::string, Chord> codes;
  auto code = [&](const std::string& label) -> const Chord& {
    auto it = codes.find(label);
    if (it == codes.end()) it = codes.emplace(label, encode_chord(label)).first;
    return it->second;
  };
  for (const auto* v : {&ref, &est})  // every label is encoded (mir_eval refuses a bad one anywhere)
    for (const auto& s : *v) code(s.label);
  ChordTrackScores r;
  r.duration = t_max - t_min;
  for (const Piece& p : merge(ref, est)) {
    const Chord &a = code(ref[p.ref].label), &b = code(est[p.est].label);
    if (const double m = majmin_score(a, b); m >= 0) {
      r.majmin_scored += p.duration;
      r.majmin_correct += m * p.duration;
    }
    if (const double m = root_score(a, b); m >= 0) {
      r.root_scored += p.duration;
      r.root_correct += m * p.duration;
    }
  }
  r.majmin = r.majmin_scored > 0 ? r.majmin_correct / r.majmin_scored : 0.0;
  r.root = r.root_scored > 0 ? r.root_correct / r.root_scored : 0.0;
  return r;
}

ChordScores chord(const std::vector<ChordTrack>& tracks) {
  if (tracks.empty()) throw Error("no tracks to score");
  ChordScores s;
  double majmin_correct = 0, root_correct = 0;
  for (const ChordTrack& t : tracks) {
    const ChordTrackScores r = chord_track(t);
    s.per_track.push_back(r);
    s.majmin_mean += r.majmin;
    s.root_mean += r.root;
    s.duration += r.duration;
    s.majmin_scored += r.majmin_scored;
    s.root_scored += r.root_scored;
    majmin_correct += r.majmin_correct;
    root_correct += r.root_correct;
  }
  const auto n = static_cast<double>(tracks.size());
  s.majmin_mean /= n;
  s.root_mean /= n;
  s.majmin = s.majmin_scored > 0 ? majmin_correct / s.majmin_scored : 0.0;
  s.root = s.root_scored > 0 ? root_correct / s.root_scored : 0.0;
  return s;
}

std::vector<ChordSegment> read_chord_lab(const std::string& path) {
  std::vector<ChordSegment> segs;
  for (const auto& line : detail::read_annotation_lines(path, 3)) {
    const std::string where = path + ":" + std::to_string(line.number);
    if (line.fields.size() < 3) throw Error(where + ": expected 'start end label'");
    segs.push_back({detail::parse_time(line.fields[0], where), detail::parse_time(line.fields[1], where), line.fields[2]});
  }
  return segs;
}

}  // namespace mert::metrics
