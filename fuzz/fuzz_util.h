#pragma once
// Shared by the libFuzzer harnesses: the loaders under test take paths, so each input is
// written to a file in a per-process scratch dir (on /dev/shm when it exists) and loaded from
// there. A loader may refuse its input with an exception (mert::Error, or a libtorch error for
// tensors it rejects); anything else — a crash, a sanitizer report, a hang, an allocation past
// libFuzzer's -malloc_limit_mb — is a finding.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include "mert/error.h"

namespace mert::fuzz {

inline const std::string& scratch_dir() {
  static const std::string dir = [] {
    const std::filesystem::path base = std::filesystem::exists("/dev/shm") ? "/dev/shm" : "/tmp";
    const auto d = base / ("mert-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d.string();
  }();
  return dir;
}

// Writes `size` bytes to <scratch>/<name> and returns the path.
inline std::string write_input(const std::string& name, const uint8_t* data, size_t size) {
  const std::string path = scratch_dir() + "/" + name;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  return path;
}

// Splits an input into up to `n` parts at the byte sequence "\n--\n" (harnesses that read
// several files from one input).
inline std::string part(const uint8_t* data, size_t size, int index) {
  const std::string s(reinterpret_cast<const char*>(data), size);
  size_t start = 0;
  for (int i = 0; i < index; ++i) {
    const size_t at = s.find("\n--\n", start);
    if (at == std::string::npos) return {};
    start = at + 4;
  }
  const size_t end = s.find("\n--\n", start);
  return s.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

// The whole harness for a loader that reads one file: writes the input as <name>, calls
// load(path) and accepts a mert::Error as the loader refusing it.
template <typename Load>
int load_file(const char* name, const uint8_t* data, size_t size, Load load) {
  const std::string path = write_input(name, data, size);
  try {
    load(path);
  } catch (const mert::Error&) {
  }
  return 0;
}

}  // namespace mert::fuzz
