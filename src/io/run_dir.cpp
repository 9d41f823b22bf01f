#include "io/run_dir.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "io/atomic_file.h"
#include "mert/error.h"

namespace fs = std::filesystem;

namespace mert::io {

void check_and_record_settings(const std::string& path, const std::string& settings_json, bool overwrite,
                               const std::vector<std::string>& ignored, const std::string& what) {
  remove_stale_temps(path);  // a run killed while writing it left one; this run will not rename it
  if (fs::exists(path) && !overwrite) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    nlohmann::json old, now = nlohmann::json::parse(settings_json);
    try {
      old = nlohmann::json::parse(ss.str());
    } catch (const std::exception&) {
    }
    for (const auto& key : ignored) {
      old.erase(key);
      now.erase(key);
    }
    if (old != now)
      throw Error(what + " holds outputs made with different settings (see " + fs::path(path).filename().string() +
                  "): use another output, or --overwrite to recompute everything");
  }
  write_file_atomic(path, [&](std::FILE* f) { write_all(f, settings_json.data(), settings_json.size(), path); });
}

std::string failures_path(const std::string& dir, int shard_index, int shard_count) {
  const std::string name = shard_count > 1 ? "failures.shard-" + std::to_string(shard_index) + "-of-" +
                                                 std::to_string(shard_count) + ".tsv"
                                           : "failures.tsv";
  return (fs::path(dir) / name).string();
}

void write_failures(const std::string& path, const std::vector<std::pair<std::string, std::string>>& failures) {
  remove_stale_temps(path);  // rewritten after every failure: a kill may land inside one
  std::string text = "path\treason\n";
  for (const auto& [p, r] : failures) {
    std::string reason = r;
    for (char& c : reason)
      if (c == '\t' || c == '\n') c = ' ';
    text += p + "\t" + reason + "\n";
  }
  write_text_atomic(path, text);
}

void remove_stale_temps(const std::string& out) {
  const fs::path p(out);
  const std::string prefix = p.filename().string() + ".tmp.";
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(p.parent_path().empty() ? "." : p.parent_path(), ec))
    if (e.path().filename().string().rfind(prefix, 0) == 0) fs::remove(e.path(), ec);
}

}  // namespace mert::io
