// GiantSteps key, as jukemir prepares it and MARBLE v1 copies it (benchmark/tasks/GS/preprocess.py):
//  - test: the GiantSteps Key dataset (604 previews), key from annotations/key/<id>.LOFI.key;
//  - train/valid: the GiantSteps-MTG-Key dataset, key from annotations/annotations.txt (column
//    MANUAL KEY) keeping only confidence C == 2 and single keys (no '/'), split by artist: each
//    artist goes to ["train"] * 100 + ["valid"] * 16 at int(sha1(artist.lower()), 16) % 116, then
//    (twice, in file order) every artist of a track that has a valid artist becomes valid.
#include <cctype>
#include <algorithm>
#include <map>

#include "mert/error.h"
#include "probe/read_util.h"
#include "probe/readers.h"
#include "util/sha1.h"

namespace mert::probe {
namespace {

using namespace detail;

// The folder under root whose name is `prefix` or `prefix-<anything>` (GitHub archives append the
// commit: giantsteps-key-dataset-c8cb8aad...).
std::string find_dataset_dir(const std::string& root, const std::string& prefix, const std::string& name) {
  std::vector<std::string> found;
  for (const auto& d : list_dir(root, true))
    if (d == prefix || d.rfind(prefix + "-", 0) == 0) found.push_back(d);
  if (found.empty()) throw Error(name + ": no " + prefix + "/ folder under " + root);
  if (found.size() > 1) throw Error(name + ": several " + prefix + "* folders under " + root + ": " + found[0] + ", " + found[1]);
  return join(root, found[0]);
}

// Python's str.lower() for ASCII and the Latin-1 / Latin Extended-A capitals (UTF-8); other
// characters are kept as they are.
std::string lower_utf8(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      out += static_cast<char>(std::tolower(c));
      continue;
    }
    if ((c == 0xC3 || c == 0xC4 || c == 0xC5) && i + 1 < s.size()) {
      unsigned cp = ((c & 0x1Fu) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3Fu);
      if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) {
        cp += 0x20;
      } else if ((cp >= 0x100 && cp <= 0x137 && cp % 2 == 0) || (cp >= 0x14A && cp <= 0x177 && cp % 2 == 0) ||
                 (cp >= 0x139 && cp <= 0x148 && cp % 2 == 1) || (cp >= 0x179 && cp <= 0x17E && cp % 2 == 1)) {
        cp += 1;
      } else if (cp == 0x178) {
        cp = 0xFF;
      }
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
      ++i;
      continue;
    }
    out += static_cast<char>(c);
  }
  return out;
}

std::vector<std::string> split_artists(const std::string& field) {
  std::vector<std::string> artists;
  const std::string f = trim(field);
  size_t b = 0;
  for (;;) {
    const size_t e = f.find(',', b);
    artists.push_back(trim(f.substr(b, e == std::string::npos ? std::string::npos : e - b)));
    if (e == std::string::npos) break;
    b = e + 1;
  }
  return artists;
}

std::string uid_of(const std::string& did_text, const std::string& where) {
  if (did_text.empty() || did_text.size() > 12) throw Error(where + ": bad track id '" + did_text + "'");
  for (char ch : did_text)
    if (!std::isdigit(static_cast<unsigned char>(ch))) throw Error(where + ": bad track id '" + did_text + "'");
  std::string did = did_text.substr(std::min(did_text.find_first_not_of('0'), did_text.size() - 1));
  return std::string(did.size() < 7 ? 7 - did.size() : 0, '0') + did;  // jukemir: str(int(id)).zfill(7)
}

std::vector<std::string> audio_candidates(const std::string& dataset_dir, const std::string& root, const std::string& did) {
  std::vector<std::string> c;
  for (const std::string& dir : {join(dataset_dir, "audio"), join(root, "audio")})
    for (const char* ext : {".mp3", ".wav", ".flac"}) {
      c.push_back(join(dir, did + ".LOFI" + ext));
      c.push_back(join(dir, did + ext));
    }
  return c;
}

}  // namespace

ProbeDataset read_giantsteps_key(const std::string& root) {
  const std::string name = "giantsteps-key";
  const std::string key_dir = find_dataset_dir(root, "giantsteps-key-dataset", name);
  const std::string mtg_dir = find_dataset_dir(root, "giantsteps-mtg-key-dataset", name);
  DatasetBuilder b(name, root, TaskType::Key, key_class_names());

  // Test: one .key file per track.
  const std::string key_ann = join(key_dir, "annotations/key");
  if (!is_dir(key_ann)) throw Error(name + ": " + key_ann + " not found");
  for (const auto& f : list_dir(key_ann, false)) {
    if (f.size() < 5 || f.compare(f.size() - 4, 4, ".key") != 0) continue;
    const std::string file = join(key_ann, f);
    const std::string did = f.substr(0, f.find('.'));
    size_t line = 0;
    const std::string text = read_label_file(file, line);
    ProbeItem item;
    item.id = uid_of(did, file);
    item.split = "test";
    item.label = parse_key(text, at_line(file, line));
    item.path = first_existing(audio_candidates(key_dir, root, std::to_string(std::stoull(did))));
    if (!is_file(item.path)) {  // the file may keep the annotation's own spelling of the id
      const std::string alt = first_existing(audio_candidates(key_dir, root, did));
      if (is_file(alt)) item.path = alt;
    }
    b.add(std::move(item), file);
  }

  // Train/valid: artist split over every track of beatport_metadata.txt.
  const Table meta = read_table(join(mtg_dir, "annotations/beatport_metadata.txt"), '\t');
  const size_t c_id = meta.col("ID"), c_artist = meta.col("ARTIST");
  std::map<std::string, size_t> row_of;  // id -> row, the last row of an id (jukemir's dict)
  std::vector<std::string> row_order;    // ids in first-seen order
  for (size_t r = 0; r < meta.rows.size(); ++r) {
    const std::string uid = uid_of(trim(meta.rows[r].second[c_id]), at_line(meta.file, meta.rows[r].first));
    if (!row_of.count(uid)) row_order.push_back(uid);
    row_of[uid] = r;
  }
  std::map<std::string, bool> artist_valid;
  for (const auto& uid : row_order)
    for (const auto& a : split_artists(meta.rows[row_of[uid]].second[c_artist]))
      artist_valid[a] = sha1_mod(lower_utf8(a), 116) >= 100;
  for (int pass = 0; pass < 2; ++pass)
    for (const auto& uid : row_order) {
      const auto artists = split_artists(meta.rows[row_of[uid]].second[c_artist]);
      bool any = false;
      for (const auto& a : artists) any = any || artist_valid[a];
      if (any)
        for (const auto& a : artists) artist_valid[a] = true;
    }

  const Table ann = read_table(join(mtg_dir, "annotations/annotations.txt"), '\t');
  const size_t a_id = ann.col("ID"), a_key = ann.col("MANUAL KEY"), a_conf = ann.col("C");
  const std::string md5_dir = join(mtg_dir, "md5");
  const bool have_md5 = is_dir(md5_dir);
  size_t n_low_conf = 0, n_multi = 0, n_no_md5 = 0;
  for (const auto& [line, row] : ann.rows) {
    const std::string where = at_line(ann.file, line);
    const std::string did = trim(row[a_id]);
    const std::string uid = uid_of(did, where);
    const std::string conf = trim(row[a_conf]), key = trim(row[a_key]);
    // jukemir walks the md5/ files (the tracks with audio); annotations.txt lists a few more.
    if (have_md5 && !is_file(join(md5_dir, std::to_string(std::stoull(did)) + ".LOFI.md5"))) {
      ++n_no_md5;
      continue;
    }
    if (conf != "2") {  // low confidence, as Korzeniowski & Widmer (2018)
      ++n_low_conf;
      continue;
    }
    if (key.find('/') != std::string::npos) {  // several keys
      ++n_multi;
      continue;
    }
    const auto m = row_of.find(uid);
    if (m == row_of.end()) throw Error(where + ": track " + did + " is not in " + meta.file);
    bool valid = false;
    for (const auto& a : split_artists(meta.rows[m->second].second[c_artist])) valid = valid || artist_valid[a];
    ProbeItem item;
    item.id = uid;
    item.split = valid ? "valid" : "train";
    item.label = parse_key(key, where);
    item.path = first_existing(audio_candidates(mtg_dir, root, std::to_string(std::stoull(did))));
    b.add(std::move(item), where);
  }
  note(name + ": GiantSteps-MTG-Key: " + std::to_string(n_low_conf) + " tracks with confidence < 2 and " +
       std::to_string(n_multi) + " with several keys skipped" +
       (n_no_md5 ? ", " + std::to_string(n_no_md5) + " without an md5/ entry skipped" : std::string()));
  return b.finish();
}

}  // namespace mert::probe
