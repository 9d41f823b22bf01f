// VocalSet (VocalSet11.zip): FULL/<singer>/<context>/<technique>/<file>.wav, 20 singers.
// Items are the 3 s segments of each recording ([0,3), [3,6), ...; a last piece shorter than 3 s
// is dropped, as MARBLE v1's preprocessing drops it). Differences from MARBLE v1
// (benchmark/tasks/VocalSet/preprocess.py): no voice-activity trimming before cutting, and the
// recording-grouped splits come from a hash of each recording's path instead of scikit-learn's
// seeded GroupShuffleSplit: h = int(sha1(<path below FULL>), 16) % 100.
//  - singer:    h < 20 test, h < 52 valid, else train (48:32:20, MARBLE's 0.8 x 0.6 / 0.4 and 0.2);
//  - technique: the 10 techniques of Yamamoto et al.; singers f2 f8 m3 m5 m10 are the test
//               split; the others' recordings h < 40 valid, else train (MARBLE's 60/40).
#include <sndfile.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "mert/error.h"
#include "probe/read_util.h"
#include "probe/readers.h"
#include "util/sha1.h"

namespace fs = std::filesystem;

namespace mert::probe {
namespace {

using namespace detail;

const std::vector<std::string> kSingers = {"f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9", "m1",
                                           "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9", "m10", "m11"};
const std::vector<std::string> kTechniques = {"belt",     "breathy", "inhaled", "lip_trill", "spoken",
                                              "straight", "trill",   "trillo",  "vibrato",   "vocal_fry"};
const std::vector<std::string> kTestSingers = {"f2", "f8", "m3", "m5", "m10"};
constexpr double kSegmentSec = 3.0;

struct Recording {
  std::string rel;  // below FULL/, '/'-separated
  std::string path, singer, technique;
};

std::vector<Recording> scan(const std::string& root, const std::string& name) {
  std::string full = join(root, "FULL");
  if (!is_dir(full)) {
    if (!is_dir(join(root, "f1")) && !is_dir(join(root, "m1")))
      throw Error(name + ": no FULL/ folder under " + root + " (VocalSet layout: FULL/<singer>/<context>/<technique>/*.wav)");
    full = root;
  }
  std::vector<Recording> recs;
  size_t n_dup = 0;
  for (const auto& singer : list_dir(full, true)) {
    if (std::find(kSingers.begin(), kSingers.end(), singer) == kSingers.end())
      throw Error(name + ": unknown singer folder " + join(full, singer) + " (VocalSet has f1..f9 and m1..m11)");
    std::vector<Recording> found;
    std::error_code ec;
    for (fs::recursive_directory_iterator it(join(full, singer), ec), end; !ec && it != end; it.increment(ec)) {
      const std::string file = it->path().filename().string();
      if (!file.empty() && file[0] == '.') {
        if (it->is_directory()) it.disable_recursion_pending();
        continue;
      }
      std::string ext = it->path().extension().string();
      for (auto& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (ext != ".wav" || !it->is_regular_file()) continue;
      // VocalSet ships one duplicate as "<name>(1).wav" next to "<name>.wav" (MARBLE deletes it).
      const std::string st = it->path().stem().string();
      if (st.size() > 3 && st.compare(st.size() - 3, 3, "(1)") == 0 &&
          is_file((it->path().parent_path() / (st.substr(0, st.size() - 3) + it->path().extension().string())).string())) {
        ++n_dup;
        continue;
      }
      Recording r;
      r.path = it->path().string();
      r.rel = it->path().lexically_relative(full).generic_string();
      r.singer = singer;
      r.technique = it->path().parent_path().filename().string();
      found.push_back(std::move(r));
    }
    if (ec) throw Error(join(full, singer) + ": cannot list (" + ec.message() + ")");
    recs.insert(recs.end(), found.begin(), found.end());
  }
  if (n_dup) note(name + ": " + std::to_string(n_dup) + " duplicate recording(s) '<name>(1).wav' skipped");
  std::sort(recs.begin(), recs.end(), [](const Recording& a, const Recording& b) { return a.rel < b.rel; });
  return recs;
}

// Duration from the file header (libsndfile), without decoding.
double duration_sec(const std::string& path) {
  SF_INFO info{};
  SNDFILE* f = sf_open(path.c_str(), SFM_READ, &info);
  if (!f) throw Error(path + ": cannot read the audio header (" + sf_strerror(nullptr) + ")");
  sf_close(f);
  if (info.samplerate <= 0) throw Error(path + ": invalid sample rate");
  return static_cast<double>(info.frames) / info.samplerate;
}

template <class Split, class Label>
ProbeDataset build(const std::string& root, const std::string& name, const std::vector<std::string>& classes,
                   const Label& label_of, const Split& split_of) {
  DatasetBuilder b(name, root, TaskType::Multiclass, classes);
  size_t n_short = 0, n_other = 0;
  for (const auto& r : scan(root, name)) {
    const int64_t label = label_of(r);
    if (label < 0) {
      ++n_other;
      continue;
    }
    const auto n_seg = static_cast<int64_t>(std::floor(duration_sec(r.path) / kSegmentSec + 1e-9));
    if (n_seg == 0) {
      ++n_short;
      continue;
    }
    const std::string split = split_of(r);
    const std::string base = safe_id(r.rel.substr(0, r.rel.size() - 4));
    for (int64_t k = 0; k < n_seg; ++k) {
      ProbeItem item;
      char seg[32];
      std::snprintf(seg, sizeof seg, "__%03lld", static_cast<long long>(k));
      item.id = base + seg;
      item.path = r.path;
      item.split = split;
      item.label = label;
      item.start_sec = kSegmentSec * static_cast<double>(k);
      item.duration_sec = kSegmentSec;
      b.add(std::move(item), r.path + " segment " + std::to_string(k));
    }
  }
  if (n_other) note(name + ": " + std::to_string(n_other) + " recordings of other techniques skipped");
  if (n_short) note(name + ": " + std::to_string(n_short) + " recordings shorter than 3 s skipped");
  return b.finish();
}

int64_t index_of(const std::vector<std::string>& v, const std::string& s) {
  const auto it = std::find(v.begin(), v.end(), s);
  return it == v.end() ? -1 : static_cast<int64_t>(it - v.begin());
}

}  // namespace

ProbeDataset read_vocalset_singer(const std::string& root) {
  return build(
      root, "vocalset-singer", kSingers, [](const Recording& r) { return index_of(kSingers, r.singer); },
      [](const Recording& r) {
        const uint64_t h = sha1_mod(r.rel, 100);
        return std::string(h < 20 ? "test" : h < 52 ? "valid" : "train");
      });
}

ProbeDataset read_vocalset_technique(const std::string& root) {
  return build(
      root, "vocalset-technique", kTechniques, [](const Recording& r) { return index_of(kTechniques, r.technique); },
      [](const Recording& r) {
        if (index_of(kTestSingers, r.singer) >= 0) return std::string("test");
        return std::string(sha1_mod(r.rel, 100) < 40 ? "valid" : "train");
      });
}

}  // namespace mert::probe
