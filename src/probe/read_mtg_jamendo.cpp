// MTG-Jamendo auto-tagging, split-0 as MARBLE v1 uses it:
// data/splits/split-0/autotagging_<subset>-{train,validation,test}.tsv, tab-separated with a
// header TRACK_ID ARTIST_ID ALBUM_ID PATH DURATION TAGS, the tags being the 6th and following
// fields ("genre---rock"). Classes: every tag the subset's three files use, sorted (MARBLE numbers
// them in order of first appearance; the order does not change macro metrics).
// Audio: <PATH> (e.g. 14/214.mp3) under root or root/audio, else the low-quality release's
// <PATH with .low.mp3> under root, root/audio or root/audio-low (MARBLE v1 reads that one).
#include <algorithm>
#include <map>
#include <set>

#include "mert/error.h"
#include "probe/read_util.h"
#include "probe/readers.h"

namespace mert::probe {
namespace {

using namespace detail;

struct Subset {
  const char* task;
  const char* file;    // autotagging_<file>-<split>.tsv
  const char* prefix;  // every tag of the subset starts with it ("" = any)
};

ProbeDataset read_mtg(const std::string& root, const Subset& sub) {
  const std::string name = sub.task;
  const std::string dir = join(root, "data/splits/split-0");
  struct Track {
    std::string where, id, path, split;
    std::vector<std::string> tags;
  };
  std::vector<Track> tracks;
  std::set<std::string> tag_set;
  for (const char* split : kSplits) {
    const std::string tsv_split = std::string(split) == "valid" ? "validation" : split;
    const std::string file = join(dir, std::string("autotagging_") + sub.file + "-" + tsv_split + ".tsv");
    if (!is_file(file)) throw Error(name + ": " + file + " not found (MTG-Jamendo layout: data/splits/split-0/*.tsv)");
    bool header = true;
    for (const auto& l : read_lines(file)) {
      if (trim(l.text).empty()) continue;
      const auto f = split_fields(l.text, '\t');
      const std::string where = at_line(file, l.number);
      if (header) {
        if (f.size() < 6 || f[0] != "TRACK_ID" || f[3] != "PATH")
          throw Error(where + ": expected the header TRACK_ID ARTIST_ID ALBUM_ID PATH DURATION TAGS");
        header = false;
        continue;
      }
      if (f.size() < 6) throw Error(where + ": " + std::to_string(f.size()) + " fields, expected at least 6");
      Track t{where, f[0], f[3], split, {}};
      for (size_t k = 5; k < f.size(); ++k) {
        if (f[k].empty()) continue;
        if (f[k].rfind(sub.prefix, 0) != 0)
          throw Error(where + ": tag '" + f[k] + "' is not a " + sub.prefix + " tag (wrong subset file?)");
        t.tags.push_back(f[k]);
        tag_set.insert(f[k]);
      }
      if (t.id.empty() || t.path.empty()) throw Error(where + ": empty TRACK_ID or PATH");
      if (t.tags.empty()) throw Error(where + ": track " + t.id + " has no tag");
      tracks.push_back(std::move(t));
    }
    if (header) throw Error(file + ": empty file");
  }
  const std::vector<std::string> classes(tag_set.begin(), tag_set.end());
  std::map<std::string, size_t> class_of;
  for (size_t c = 0; c < classes.size(); ++c) class_of[classes[c]] = c;

  DatasetBuilder b(name, root, TaskType::Multilabel, classes);
  for (auto& t : tracks) {
    ProbeItem item;
    item.id = safe_id(t.id);
    item.split = t.split;
    item.targets.assign(classes.size(), 0.f);
    for (const auto& tag : t.tags) item.targets[class_of.at(tag)] = 1.f;
    std::string low = t.path;
    const size_t dot = low.rfind(".mp3");
    if (dot != std::string::npos && dot + 4 == low.size()) low.replace(dot, 4, ".low.mp3");
    item.path = first_existing({join(root, t.path), join(root, "audio/" + t.path), join(root, low),
                                join(root, "audio/" + low), join(root, "audio-low/" + low)});
    b.add(std::move(item), t.where);
  }
  return b.finish();
}

}  // namespace

ProbeDataset read_mtg_genre(const std::string& root) { return read_mtg(root, {"mtg-genre", "genre", "genre---"}); }
ProbeDataset read_mtg_instrument(const std::string& root) {
  return read_mtg(root, {"mtg-instrument", "instrument", "instrument---"});
}
ProbeDataset read_mtg_mood(const std::string& root) { return read_mtg(root, {"mtg-mood", "moodtheme", "mood/theme---"}); }
ProbeDataset read_mtg_top50(const std::string& root) { return read_mtg(root, {"mtg-top50", "top50tags", ""}); }

}  // namespace mert::probe
