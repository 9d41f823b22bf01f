#include "data/manifest.h"

#include <filesystem>
#include <fstream>

#include "mert/error.h"

namespace fs = std::filesystem;

namespace mert {

std::string Manifest::audio_path(size_t i) const {
  const fs::path rel(entries.at(i).rel);
  return rel.is_absolute() ? rel.string() : (fs::path(root) / rel).string();
}

std::string Manifest::split() const { return fs::path(path).stem().string(); }

Manifest read_manifest(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot open manifest");
  Manifest m;
  m.path = path;
  if (!std::getline(in, m.root)) throw Error(path + ": empty manifest (the first line must be the root dir)");
  if (!m.root.empty() && m.root.back() == '\r') m.root.pop_back();
  if (m.root.find('\t') != std::string::npos)
    throw Error(path + ":1: the first line must be the root dir, found a tab-separated entry");
  std::string line;
  int64_t line_no = 1;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const auto tab = line.find('\t');
    const std::string where = path + ":" + std::to_string(line_no);
    if (tab == std::string::npos || tab == 0) throw Error(where + ": expected 'relpath<TAB>n_samples'");
    ManifestEntry e;
    e.rel = line.substr(0, tab);
    const std::string count = line.substr(tab + 1);
    size_t used = 0;
    try {
      e.n_samples = std::stoll(count, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != count.size() || e.n_samples < 0)
      throw Error(where + ": n_samples must be a non-negative integer, got '" + count + "'");
    m.entries.push_back(std::move(e));
  }
  return m;
}

}  // namespace mert
