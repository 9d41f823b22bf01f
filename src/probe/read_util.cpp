#include "probe/read_util.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>

#include "mert/error.h"
#include "mert/metrics.h"

namespace fs = std::filesystem;

namespace mert::probe::detail {

std::vector<TextLine> read_lines(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw Error(path + ": no such file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open");
  std::vector<TextLine> lines;
  std::string s;
  size_t n = 0;
  while (std::getline(in, s)) {
    ++n;
    if (n == 1 && s.compare(0, 3, "\xEF\xBB\xBF") == 0) s.erase(0, 3);
    if (!s.empty() && s.back() == '\r') s.pop_back();
    lines.push_back({n, std::move(s)});
  }
  if (in.bad()) throw Error(path + ": read error");
  return lines;
}

std::string trim(const std::string& s) {
  const char* ws = " \t\r\n\v\f";
  const size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

std::vector<std::string> split_fields(const std::string& line, char sep) {
  // As Python's csv module reads a line: a field is quoted when its first character is '"'.
  std::vector<std::string> out;
  const size_t n = line.size();
  size_t i = 0;
  for (;;) {
    std::string field;
    bool quoted = false;
    if (i < n && line[i] == '"') {
      quoted = true;
      ++i;
      while (i < n) {
        if (line[i] == '"') {
          if (i + 1 < n && line[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field += line[i++];
      }
    }
    const size_t end = std::min(line.find(sep, i), n);
    field += line.substr(i, end - i);  // after a closing quote: kept as it is
    out.push_back(quoted ? field : trim(field));
    if (end >= n) break;
    i = end + 1;
  }
  return out;
}

std::string at_line(const std::string& file, size_t line) { return file + ":" + std::to_string(line); }

size_t Table::col(const std::string& name) const {
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return i;
  throw Error(file + ": no column '" + name + "' in the header");
}

Table read_table(const std::string& file, char sep) {
  Table t;
  t.file = file;
  for (const auto& l : read_lines(file)) {
    if (trim(l.text).empty()) continue;
    auto fields = split_fields(l.text, sep);
    if (t.header.empty()) {
      t.header = std::move(fields);
      continue;
    }
    if (fields.size() < t.header.size()) fields.resize(t.header.size());
    t.rows.emplace_back(l.number, std::move(fields));
  }
  if (t.header.empty()) throw Error(file + ": empty file");
  return t;
}

bool is_file(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

bool is_dir(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec);
}

std::string join(const std::string& dir, const std::string& rel) {
  if (dir.empty()) return rel;
  return dir.back() == '/' ? dir + rel : dir + "/" + rel;
}

std::string first_existing(const std::vector<std::string>& candidates) {
  for (const auto& c : candidates)
    if (is_file(c)) return c;
  return candidates.empty() ? std::string() : candidates.front();
}

std::vector<std::string> list_dir(const std::string& dir, bool directories) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    std::error_code e2;
    const bool d = it->is_directory(e2);
    if (directories ? d : (!d && it->is_regular_file(e2))) names.push_back(name);
  }
  if (ec) throw Error(dir + ": cannot list (" + ec.message() + ")");
  std::sort(names.begin(), names.end());
  return names;
}

std::string stem(const std::string& file_name) {
  std::string base = file_name.substr(file_name.find_last_of('/') == std::string::npos ? 0 : file_name.find_last_of('/') + 1);
  const size_t dot = base.find_last_of('.');
  return dot == std::string::npos || dot == 0 ? base : base.substr(0, dot);
}

std::string safe_id(const std::string& s) {
  std::string out;
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (c == '/' || c == '\\') {
      out += "__";
    } else if ((u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || c == '.' || c == '_' ||
               c == '-' || c == '+') {
      out += c;
    } else {
      out += '_';
    }
  }
  if (!out.empty() && out[0] == '.') out[0] = '_';
  return out;
}

std::string read_label_file(const std::string& path, size_t& line) {
  for (const auto& l : read_lines(path)) {
    std::string t = trim(l.text);
    if (t.empty()) continue;
    line = l.number;
    return t;
  }
  throw Error(path + ": empty label file");
}

std::vector<std::string> key_class_names() {
  std::vector<std::string> names;
  for (int k = 0; k < 24; ++k) names.push_back(metrics::key_name(k));
  return names;
}

int64_t parse_key(const std::string& text, const std::string& where) {
  try {
    return metrics::key_index(text);
  } catch (const Error& e) {
    throw Error(where + ": " + e.what());
  }
}

void note(const std::string& message) { std::fprintf(stderr, "probe: note: %s\n", message.c_str()); }

DatasetBuilder::DatasetBuilder(std::string name, std::string root, TaskType type, std::vector<std::string> class_names)
    : name_(std::move(name)), root_(std::move(root)), type_(type), classes_(std::move(class_names)) {}

void DatasetBuilder::add(ProbeItem item, std::string origin) {
  items_.push_back(std::move(item));
  origins_.push_back(std::move(origin));
}

ProbeDataset DatasetBuilder::finish() {
  const std::string& n = name_;
  if (items_.empty()) throw Error(n + ": no items found under " + root_);
  if (classes_.empty()) throw Error(n + ": no classes");
  const size_t c = classes_.size();
  for (size_t i = 0; i < items_.size(); ++i) {
    const ProbeItem& it = items_[i];
    const std::string& o = origins_[i];
    if (it.id.empty() || it.id != safe_id(it.id)) throw Error(o + ": id '" + it.id + "' is not file-name safe");
    if (it.split != "train" && it.split != "valid" && it.split != "test")
      throw Error(o + ": unknown split '" + it.split + "'");
    if (!(it.start_sec >= 0) || !(it.duration_sec >= 0)) throw Error(o + ": negative segment time");
    switch (type_) {
      case TaskType::Multiclass:
      case TaskType::Key:
        if (it.label < 0 || static_cast<size_t>(it.label) >= c)
          throw Error(o + ": label " + std::to_string(it.label) + " outside the " + std::to_string(c) + " classes");
        break;
      case TaskType::Multilabel:
        if (it.targets.size() != c)
          throw Error(o + ": " + std::to_string(it.targets.size()) + " targets for " + std::to_string(c) + " classes");
        for (float t : it.targets)
          if (t != 0.f && t != 1.f) throw Error(o + ": multi-label target " + std::to_string(t) + " is not 0 or 1");
        break;
      case TaskType::Regression:
        if (it.targets.size() != c)
          throw Error(o + ": " + std::to_string(it.targets.size()) + " targets for " + std::to_string(c) + " outputs");
        for (float t : it.targets)
          if (!std::isfinite(t)) throw Error(o + ": regression target is not finite");
        break;
      case TaskType::Beat:
      case TaskType::Chords:
      case TaskType::Stems:
        if (it.annotation.empty()) throw Error(o + ": no annotation file");
        break;
    }
  }

  std::vector<size_t> order(items_.size());
  std::iota(order.begin(), order.end(), size_t(0));
  // Segments of one file share a path; order by id, then start time (ids differ anyway).
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return items_[a].id < items_[b].id; });
  for (size_t k = 1; k < order.size(); ++k)
    if (items_[order[k]].id == items_[order[k - 1]].id)
      throw Error(n + ": duplicate id '" + items_[order[k]].id + "' (" + origins_[order[k - 1]] + " and " +
                  origins_[order[k]] + ")");

  // Audio present? Each path is checked once (segments share theirs).
  std::vector<std::string> missing;
  size_t n_missing = 0;
  {
    std::vector<std::pair<std::string, size_t>> paths;
    for (size_t i = 0; i < items_.size(); ++i) paths.emplace_back(items_[i].path, i);
    std::sort(paths.begin(), paths.end());
    for (size_t k = 0; k < paths.size(); ++k) {
      if (k > 0 && paths[k].first == paths[k - 1].first) continue;
      if (is_file(paths[k].first)) continue;
      ++n_missing;
      if (missing.size() < 3) missing.push_back(paths[k].first + " (" + origins_[paths[k].second] + ")");
    }
  }
  if (n_missing > 0) {
    std::ostringstream m;
    m << n << ": " << n_missing << " audio file" << (n_missing == 1 ? "" : "s") << " missing";
    for (size_t k = 0; k < missing.size(); ++k) m << (k == 0 ? ": " : ", ") << missing[k];
    if (n_missing > missing.size()) m << ", ...";
    throw Error(m.str());
  }

  size_t counts[3] = {0, 0, 0};
  for (const auto& it : items_)
    for (int s = 0; s < 3; ++s)
      if (it.split == kSplits[s]) ++counts[s];
  for (int s = 0; s < 3; ++s)
    if (counts[s] == 0)
      throw Error(n + ": split '" + kSplits[s] + "' is empty (train " + std::to_string(counts[0]) + ", valid " +
                  std::to_string(counts[1]) + ", test " + std::to_string(counts[2]) + " items under " + root_ + ")");

  ProbeDataset ds;
  ds.type = type_;
  ds.class_names = classes_;
  ds.items.reserve(items_.size());
  for (size_t k : order) ds.items.push_back(std::move(items_[k]));
  items_.clear();
  origins_.clear();
  return ds;
}

}  // namespace mert::probe::detail
