// GTZAN-Rhythm beat annotations (Marchand & Peeters 2015) on the GTZAN genre layout: the items and
// fault-filtered split of read_gtzan, each with its beat annotation, a JAMS file as the v2 release
// ships them (<root>/rhythm/jams/<genre>.000NN.wav.jams, or jams/ directly under root) or a
// plain beat list (<root>/beats/<genre>.000NN.beats, one time a line). Tracks without an
// annotation are left out with a note.
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>

#include "mert/error.h"
#include "mert/metrics.h"
#include "probe/frame_targets.h"
#include "probe/read_util.h"
#include "probe/readers.h"

namespace mert::probe {
namespace {

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// The times of a JAMS annotation's observations: `data` as a list of {time, ...} objects (JAMS
// 0.3) or as parallel arrays {"time": [...]} (JAMS 0.2).
std::vector<double> jams_times(const nlohmann::json& data, const std::string& where) {
  std::vector<double> t;
  auto add = [&](const nlohmann::json& v) {
    if (!v.is_number()) throw Error(where + ": a beat time is not a number");
    const double x = v.get<double>();
    if (!std::isfinite(x) || x < 0 || x > 30000) throw Error(where + ": beat time " + v.dump() + " out of range");
    t.push_back(x);
  };
  if (data.is_array()) {
    for (const auto& obs : data) {
      if (!obs.is_object() || !obs.contains("time")) throw Error(where + ": an observation has no 'time'");
      add(obs.at("time"));
    }
  } else if (data.is_object() && data.contains("time") && data.at("time").is_array()) {
    for (const auto& v : data.at("time")) add(v);
  } else {
    throw Error(where + ": 'data' is neither a list of observations nor {\"time\": [...]}");
  }
  return t;
}

}  // namespace

std::vector<double> read_beat_annotation(const std::string& path) {
  if (!ends_with(path, ".jams")) return metrics::read_beat_times(path);
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot open");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    throw Error(path + ": malformed JSON (" + e.what() + ")");
  }
  if (!j.is_object() || !j.contains("annotations") || !j.at("annotations").is_array())
    throw Error(path + ": no 'annotations' list (not a JAMS file?)");
  for (const auto& a : j.at("annotations")) {
    if (!a.is_object() || !a.contains("namespace") || !a.at("namespace").is_string()) continue;
    const std::string ns = a.at("namespace").get<std::string>();
    if (ns != "beat" && ns != "beat_position") continue;
    if (!a.contains("data")) throw Error(path + ": the '" + ns + "' annotation has no 'data'");
    return jams_times(a.at("data"), path + " ('" + ns + "' annotation)");
  }
  throw Error(path + ": no 'beat' annotation");
}

ProbeDataset read_gtzan_beat(const std::string& root) {
  using namespace detail;
  const ProbeDataset genres = read_gtzan(root);
  DatasetBuilder b("gtzan-beat", root, TaskType::Beat, beat_class_names());
  size_t missing = 0;
  std::string first_missing;
  for (ProbeItem it : genres.items) {
    const std::string track = stem(it.path);  // "blues.00012"
    const std::string file = first_existing({join(root, "rhythm/jams/" + track + ".wav.jams"),
                                             join(root, "jams/" + track + ".wav.jams"),
                                             join(root, "rhythm/jams/" + track + ".jams"),
                                             join(root, "beats/" + track + ".beats")});
    if (!is_file(file)) {
      if (!missing++) first_missing = track;
      continue;
    }
    read_beat_annotation(file);  // a malformed annotation fails here, naming itself
    it.label = -1;
    it.annotation = file;
    b.add(std::move(it), file);
  }
  if (missing)
    note("gtzan-beat: " + std::to_string(missing) + " track(s) without a beat annotation left out (first: " +
         first_missing + "; looked for rhythm/jams/<track>.wav.jams, jams/, beats/<track>.beats)");
  return b.finish();
}

}  // namespace mert::probe
