#include "default_model.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include "mert/error.h"

namespace fs = std::filesystem;

namespace mert::cli {

namespace {

fs::path executable_dir() {
  std::string buf(4096, '\0');
  const ssize_t n = ::readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  if (n <= 0) return {};
  buf.resize(static_cast<size_t>(n));
  return fs::path(buf).parent_path();
}

}  // namespace

std::string default_model_dir() {
  if (const char* env = std::getenv("MERT_DEFAULT_MODEL"); env && *env) {
    if (!fs::is_regular_file(fs::path(env) / "config.json"))
      throw Error(std::string("MERT_DEFAULT_MODEL=") + env + " is not a model dir (no config.json)");
    return env;
  }
  std::vector<fs::path> candidates;
  const fs::path exe = executable_dir();
  if (!exe.empty()) {
    candidates.push_back(exe / ".." / "models" / kDefaultModelName);
    candidates.push_back(exe / ".." / "share" / "mert" / "models" / kDefaultModelName);
  }
#ifdef MERT_SOURCE_DIR
  candidates.push_back(fs::path(MERT_SOURCE_DIR) / "models" / kDefaultModelName);
#endif
  std::string looked;
  std::vector<std::string> seen;
  for (const auto& c : candidates) {
    if (fs::is_regular_file(c / "config.json")) return fs::weakly_canonical(c).string();
    const std::string name = c.lexically_normal().string();
    if (std::find(seen.begin(), seen.end(), name) != seen.end()) continue;
    seen.push_back(name);
    looked += (looked.empty() ? "" : ", ") + name;
  }
  throw Error(std::string("no -m given and the default model ") + kDefaultModelName + " was not found (looked in " +
              looked + "); pass -m <model dir> or set MERT_DEFAULT_MODEL");
}

}  // namespace mert::cli
