// Emomusic ("1000 songs", 744 45-s clips), as jukemir prepares it and MARBLE v1 copies it
// (benchmark/tasks/EMO/preprocess.py): test = the songs songs_info.csv marks "evaluation" in
// column "Mediaeval 2013 set"; the others go to ["train"] * 8 + ["valid"] * 2 at
// int(sha1(artist), 16) % 10, the artist lower-cased and reduced to ASCII letters and single
// spaces. Targets: [mean_arousal, mean_valence] of static_annotations.csv, z-scored with the mean
// and population standard deviation of all non-test songs (train and valid together, as jukemir
// normalises before it splits). R^2 is the same as on the raw values.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <map>

#include "mert/error.h"
#include "probe/read_util.h"
#include "probe/readers.h"
#include "util/sha1.h"

namespace mert::probe {
namespace {

using namespace detail;

std::string song_uid(const std::string& text, const std::string& where) {
  char* end = nullptr;
  const long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || v < 0 || v > 9999999) throw Error(where + ": bad song_id '" + text + "'");
  std::string s = std::to_string(v);
  return std::string(s.size() < 4 ? 4 - s.size() : 0, '0') + s;  // jukemir: str(int(id)).zfill(4)
}

float number(const std::string& text, const std::string& what, const std::string& where) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !std::isfinite(v)) throw Error(where + ": " + what + " '" + text + "' is not a number");
  return static_cast<float>(v);
}

// jukemir's artist key: lower case, only ASCII letters and white space, runs of space folded.
std::string artist_key(const std::string& artist) {
  std::string kept;
  for (unsigned char c : artist) {
    if (c >= 128) continue;
    const char l = static_cast<char>(std::tolower(c));
    const bool space = c == ' ' || (c >= 9 && c <= 13) || (c >= 28 && c <= 31);  // Python str.isspace
    if (std::isalpha(static_cast<unsigned char>(l)) || space) kept += space ? ' ' : l;
  }
  std::string out;
  for (char c : kept) {
    if (c == ' ' && (out.empty() || out.back() == ' ')) continue;
    out += c;
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace

ProbeDataset read_emo(const std::string& root) {
  const std::string name = "emo";
  std::string ann_dir;
  for (const std::string& d : {join(root, "annotations"), root})
    if (is_file(join(d, "static_annotations.csv"))) {
      ann_dir = d;
      break;
    }
  if (ann_dir.empty())
    throw Error(name + ": static_annotations.csv not found in " + root + " or " + join(root, "annotations"));

  const Table info = read_table(join(ann_dir, "songs_info.csv"), ',');
  const size_t i_id = info.col("song_id"), i_artist = info.col("Artist"), i_set = info.col("Mediaeval 2013 set");
  struct Song {
    std::string where, artist;
    bool test = false, annotated = false;
    float arousal = 0, valence = 0;
  };
  std::map<std::string, Song> songs;
  for (const auto& [line, row] : info.rows) {
    const std::string where = at_line(info.file, line);
    const std::string uid = song_uid(trim(row[i_id]), where);
    if (songs.count(uid)) throw Error(where + ": song " + uid + " listed twice");
    Song s;
    s.where = where;
    s.artist = trim(row[i_artist]);
    s.test = trim(row[i_set]) == "evaluation";
    songs[uid] = s;
  }

  const Table stat = read_table(join(ann_dir, "static_annotations.csv"), ',');
  const size_t s_id = stat.col("song_id"), s_ar = stat.col("mean_arousal"), s_va = stat.col("mean_valence");
  for (const auto& [line, row] : stat.rows) {
    const std::string where = at_line(stat.file, line);
    const std::string uid = song_uid(trim(row[s_id]), where);
    const auto it = songs.find(uid);
    if (it == songs.end()) throw Error(where + ": song " + uid + " is not in " + info.file);
    if (it->second.annotated) throw Error(where + ": song " + uid + " annotated twice");
    it->second.annotated = true;
    it->second.where = where;
    it->second.arousal = number(trim(row[s_ar]), "mean_arousal", where);
    it->second.valence = number(trim(row[s_va]), "mean_valence", where);
  }

  double sum[2] = {0, 0}, sq[2] = {0, 0};
  size_t n_fit = 0, n_unannotated = 0;
  for (const auto& [uid, s] : songs) {
    if (!s.annotated) {
      ++n_unannotated;
      continue;
    }
    if (s.test) continue;
    sum[0] += s.arousal;
    sum[1] += s.valence;
    sq[0] += double(s.arousal) * s.arousal;
    sq[1] += double(s.valence) * s.valence;
    ++n_fit;
  }
  if (n_unannotated) note(name + ": " + std::to_string(n_unannotated) + " songs of songs_info.csv have no static annotation; skipped");
  if (n_fit == 0) throw Error(name + ": split 'train' is empty (no annotated song outside the MediaEval 2013 evaluation set)");
  double mean[2], sd[2];
  for (int k = 0; k < 2; ++k) {
    mean[k] = sum[k] / double(n_fit);
    sd[k] = std::sqrt(std::max(0.0, sq[k] / double(n_fit) - mean[k] * mean[k]));
    if (!(sd[k] > 0)) sd[k] = 1;  // constant targets: centre only
  }

  DatasetBuilder b(name, root, TaskType::Regression, {"arousal", "valence"});
  for (const auto& [uid, s] : songs) {
    if (!s.annotated) continue;
    ProbeItem item;
    item.id = uid;
    item.split = s.test ? "test" : (sha1_mod(artist_key(s.artist), 10) < 8 ? "train" : "valid");
    item.targets = {static_cast<float>((s.arousal - mean[0]) / sd[0]), static_cast<float>((s.valence - mean[1]) / sd[1])};
    const std::string file = std::to_string(std::stol(uid));
    item.path = first_existing({join(root, "clips_45seconds/" + file + ".mp3"), join(root, "clips_45seconds/" + file + ".wav")});
    b.add(std::move(item), s.where);
  }
  return b.finish();
}

}  // namespace mert::probe
