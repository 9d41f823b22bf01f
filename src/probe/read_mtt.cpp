// MagnaTagATune: annotations_final.csv (tab-separated, often with every field double-quoted:
// clip_id, 188 tag columns of 0/1, mp3_path) and the mp3 folders 0..f. As MARBLE v1
// (benchmark/tasks/MTT/preprocess.py): the 50 tags with the most clips, split by the first hex
// digit of mp3_path (0-b train, c valid, d-f test), clips without any top-50 tag kept.
// The `mert synth tags` output has the same table; its split is the first path component.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <numeric>

#include "mert/error.h"
#include "probe/read_util.h"
#include "probe/readers.h"

namespace mert::probe {

ProbeDataset read_mtt_layout(const std::string& root, MttSplit rule, const std::string& name) {
  using namespace detail;
  const std::string csv = join(root, "annotations_final.csv");
  if (!is_file(csv)) throw Error(name + ": " + csv + " not found");
  const auto lines = read_lines(csv);
  std::vector<std::string> header;
  struct Row {
    size_t line;
    std::string clip_id, path;
    std::vector<uint8_t> tags;
  };
  std::vector<Row> rows;
  for (const auto& l : lines) {
    if (trim(l.text).empty()) continue;
    auto f = split_fields(l.text, '\t');
    const std::string where = at_line(csv, l.number);
    if (header.empty()) {
      if (f.size() < 3 || f.front() != "clip_id" || f.back() != "mp3_path")
        throw Error(where + ": expected a header clip_id<TAB>tag...<TAB>mp3_path");
      header = std::move(f);
      continue;
    }
    if (f.size() != header.size())
      throw Error(where + ": " + std::to_string(f.size()) + " fields, the header has " + std::to_string(header.size()));
    Row r{l.number, f.front(), f.back(), {}};
    for (size_t c = 1; c + 1 < f.size(); ++c) {
      if (f[c] != "0" && f[c] != "1")
        throw Error(where + ": tag '" + header[c] + "' is '" + f[c] + "', expected 0 or 1");
      r.tags.push_back(f[c] == "1");
    }
    if (r.clip_id.empty() || r.path.empty()) throw Error(where + ": empty clip_id or mp3_path");
    rows.push_back(std::move(r));
  }
  if (header.empty()) throw Error(csv + ": empty file");
  const size_t n_tags = header.size() - 2;

  // The classes: column indices into the tag columns.
  std::vector<size_t> cols(n_tags);
  std::iota(cols.begin(), cols.end(), size_t(0));
  if (rule == MttSplit::HexFolder) {
    std::vector<int64_t> count(n_tags, 0);
    for (const auto& r : rows)
      for (size_t c = 0; c < n_tags; ++c) count[c] += r.tags[c];
    // Most clips first; equal counts keep the column order (MARBLE's np.argsort is not stable).
    std::stable_sort(cols.begin(), cols.end(), [&](size_t a, size_t b) { return count[a] > count[b]; });
    if (cols.size() > 50) cols.resize(50);
  }
  std::vector<std::string> classes;
  for (size_t c : cols) classes.push_back(header[c + 1]);

  DatasetBuilder b(name, root, TaskType::Multilabel, classes);
  for (const auto& r : rows) {
    const std::string where = at_line(csv, r.line);
    ProbeItem item;
    item.id = safe_id(r.clip_id);
    if (rule == MttSplit::HexFolder) {
      const char h = static_cast<char>(std::tolower(static_cast<unsigned char>(r.path[0])));
      const int digit = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : -1;
      if (digit < 0) throw Error(where + ": mp3_path '" + r.path + "' does not start with a hex digit folder");
      item.split = digit < 12 ? "train" : digit == 12 ? "valid" : "test";
      item.path = first_existing({join(root, r.path), join(root, "mp3/" + r.path)});
    } else {
      const size_t slash = r.path.find('/');
      item.split = r.path.substr(0, slash);
      if (slash == std::string::npos || (item.split != "train" && item.split != "valid" && item.split != "test"))
        throw Error(where + ": mp3_path '" + r.path + "' does not start with train/, valid/ or test/");
      item.path = join(root, r.path);
    }
    for (size_t c : cols) item.targets.push_back(r.tags[c] ? 1.f : 0.f);
    b.add(std::move(item), where);
  }
  return b.finish();
}

ProbeDataset read_mtt(const std::string& root) { return read_mtt_layout(root, MttSplit::HexFolder, "mtt"); }

}  // namespace mert::probe
