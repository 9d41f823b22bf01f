#include "embed/inputs.h"
#include "data/manifest.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include "mert/audio.h"
#include "mert/error.h"
#include "util/random.h"

namespace mert {
namespace fs = std::filesystem;
namespace {

std::string without_extension(const fs::path& p) { return (p.parent_path() / p.stem()).generic_string(); }

// Strips leading "/", "./" and "../" so a relative output path can never escape the out dir.
std::string safe_relative(const fs::path& p) {
  fs::path out;
  for (const auto& part : p.relative_path()) {
    const std::string s = part.string();
    if (s == "." || s == ".." || s.empty()) continue;
    out /= part;
  }
  return out.generic_string();
}

void add_directory(const fs::path& dir, std::vector<InputItem>& items) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) throw Error(dir.string() + ": cannot scan directory: " + ec.message());
    if (it->is_regular_file(ec) && is_audio_extension(it->path().string())) files.push_back(it->path());
  }
  for (const auto& f : files)
    items.push_back({f.string(), without_extension(fs::relative(f, dir)), ""});
}

void add_manifest(const fs::path& tsv, std::vector<InputItem>& items) {
  const Manifest m = read_manifest(tsv.string());
  for (size_t i = 0; i < m.entries.size(); ++i)
    items.push_back({m.audio_path(i), without_extension(safe_relative(m.entries[i].rel)), ""});
}

void add_list(const fs::path& list, std::vector<InputItem>& items) {
  std::ifstream in(list);
  if (!in) throw Error(list.string() + ": cannot open list file");
  std::vector<fs::path> paths;
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    fs::path p(line);
    if (p.is_relative()) p = list.parent_path() / p;
    paths.push_back(p.lexically_normal());
  }
  if (paths.empty()) return;
  // Longest common directory of all entries.
  fs::path common = paths[0].parent_path();
  for (const auto& p : paths) {
    fs::path c;
    auto a = common.begin();
    auto b = p.parent_path().begin();
    for (; a != common.end() && b != p.parent_path().end() && *a == *b; ++a, ++b) c /= *a;
    common = c;
  }
  for (const auto& p : paths)
    items.push_back({p.string(), without_extension(safe_relative(p.lexically_relative(common))), ""});
}

}  // namespace

std::vector<InputItem> collect_inputs(const std::vector<std::string>& args, const InputOptions& opts) {
  std::vector<InputItem> items;
  for (const auto& l : opts.list_files) add_list(l, items);
  for (const auto& a : args) {
    const fs::path p(a);
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      add_directory(p, items);
    } else if (p.extension() == ".tsv") {
      add_manifest(p, items);
    } else {
      InputItem it{a, p.stem().string(), ""};
      if (!is_audio_extension(a))
        it.error = "unsupported file extension '" + p.extension().string() + "' (expected an audio file)";
      items.push_back(it);
    }
  }
  std::stable_sort(items.begin(), items.end(),
                   [](const InputItem& x, const InputItem& y) { return x.rel_out < y.rel_out; });
  for (size_t i = 1; i < items.size(); ++i)
    if (items[i].rel_out == items[i - 1].rel_out && items[i].error.empty())
      items[i].error = "output " + items[i].rel_out + ".npy is already produced by " + items[i - 1].path +
                       " (same relative path and name); give their folders instead of the files";
  return items;
}

std::vector<InputItem> select_shard(const std::vector<InputItem>& items, int index, int count) {
  if (count <= 1) return items;
  std::vector<InputItem> out;
  for (const auto& it : items) {
    if (static_cast<int>(util::fnv1a64(it.rel_out) % static_cast<uint64_t>(count)) == index) out.push_back(it);
  }
  return out;
}

}  // namespace mert

namespace mert {

void apply_segment(const InputItem& item, std::vector<float>& samples, int64_t sample_rate) {
  if (item.start_sec <= 0 && item.duration_sec <= 0) return;
  const auto n = static_cast<int64_t>(samples.size());
  const int64_t start = std::llround(std::max(0.0, item.start_sec) * static_cast<double>(sample_rate));
  if (start >= n)
    throw Error("segment starts at " + std::to_string(item.start_sec) + " s, beyond the end of the audio (" +
                std::to_string(static_cast<double>(n) / static_cast<double>(sample_rate)) + " s)");
  const int64_t len = item.duration_sec > 0
                          ? std::min(n - start, static_cast<int64_t>(std::llround(item.duration_sec * static_cast<double>(sample_rate))))
                          : n - start;
  if (start > 0) std::copy(samples.begin() + start, samples.begin() + start + len, samples.begin());
  samples.resize(static_cast<size_t>(len));
  samples.shrink_to_fit();
}

}  // namespace mert
