// Musical keys as mir_eval.key spells and scores them: "<tonic> <mode>", tonic
// case-insensitive from mir_eval's table (sharps and flats, C# = Db), mode exactly "major" or
// "minor"; weighted_score's relations (fifth above, relative, parallel).
#include <cctype>
#include <sstream>
#include <string>

#include "mert/error.h"
#include "mert/metrics.h"

namespace mert::metrics {
namespace {

// mir_eval.key.KEY_TO_SEMITONE without 'x' (no key: not one of the 24 classes).
struct Tonic {
  const char* name;
  int semitone;
};
constexpr Tonic kTonics[] = {{"c", 0},  {"c#", 1}, {"db", 1},  {"d", 2},   {"d#", 3},  {"eb", 3},
                             {"e", 4},  {"f", 5},  {"f#", 6},  {"gb", 6},  {"g", 7},   {"g#", 8},
                             {"ab", 8}, {"a", 9},  {"a#", 10}, {"bb", 10}, {"b", 11}};
constexpr const char* kNames[12] = {"C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B"};

constexpr int kMinor = 12;

}  // namespace

int key_index(const std::string& text) {
  std::istringstream words(text);
  std::string tonic, mode, extra;
  words >> tonic >> mode;
  const bool two_words = !tonic.empty() && !mode.empty() && !(words >> extra);
  auto bad = [&](const std::string& why) {
    return Error("unknown key '" + text + "': " + why +
                 " (expected '<tonic> <mode>' as mir_eval spells it, e.g. 'Eb minor', 'C# major')");
  };
  if (!two_words) throw bad("not two words");
  std::string lower;
  for (char ch : tonic) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  int semitone = -1;
  for (const auto& t : kTonics)
    if (lower == t.name) semitone = t.semitone;
  if (semitone < 0) throw bad("tonic '" + tonic + "' is not one of C C# Db D D# Eb E F F# Gb G G# Ab A A# Bb B");
  if (mode == "major") return semitone;
  if (mode == "minor") return semitone + kMinor;
  throw bad("mode '" + mode + "' is not 'major' or 'minor'");
}

std::string key_name(int index) {
  if (index < 0 || index >= 24) throw Error("key index " + std::to_string(index) + " is not in [0, 24)");
  return std::string(kNames[index % 12]) + (index >= kMinor ? " minor" : " major");
}

double key_weighted_score(int reference, int estimate) {
  if (reference < 0 || reference >= 24 || estimate < 0 || estimate >= 24)
    throw Error("key index out of [0, 24): reference " + std::to_string(reference) + ", estimate " +
                std::to_string(estimate));
  const int ref_tonic = reference % 12, est_tonic = estimate % 12;
  const bool ref_minor = reference >= kMinor, est_minor = estimate >= kMinor;
  const int up = (est_tonic - ref_tonic + 12) % 12;  // semitones from reference up to estimate
  if (reference == estimate) return 1.0;
  if (ref_minor == est_minor) return up == 7 ? 0.5 : 0.0;  // a fifth above only
  if (!ref_minor && up == 9) return 0.3;                   // relative minor
  if (ref_minor && up == 3) return 0.3;                    // relative major
  if (up == 0) return 0.2;                                 // parallel
  return 0.0;
}

KeyScores key(const std::vector<int>& references, const std::vector<int>& estimates) {
  if (references.size() != estimates.size())
    throw Error("shape mismatch: " + std::to_string(references.size()) + " reference keys vs " +
                std::to_string(estimates.size()) + " estimates");
  if (references.empty()) throw Error("no keys to score");
  double weighted = 0;
  int64_t same = 0;
  for (size_t i = 0; i < references.size(); ++i) {
    weighted += key_weighted_score(references[i], estimates[i]);
    same += references[i] == estimates[i];
  }
  const double n = static_cast<double>(references.size());
  return {weighted / n, static_cast<double>(same) / n};
}

}  // namespace mert::metrics
