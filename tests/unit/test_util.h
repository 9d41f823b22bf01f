#pragma once
// Helpers shared by the unit tests: scratch dirs, raw file bytes, the Python oracle probe,
// and the "must throw mert::Error (and nothing else)" check used by the corruption tests.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "mert/error.h"

namespace mert_test {

// A fresh directory under $TMPDIR, removed with everything in it when the test ends.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mert_test_XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

inline std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Whether Debian's interpreter (the oracle, not the pyenv one) can import `module`.
inline bool oracle_python_has(const std::string& module) {
  const std::string cmd = "/usr/bin/python3 -c 'import " + module + "' >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

// `f` must throw mert::Error whose message contains `needle`; any other outcome fails.
template <class F>
void expect_mert_error(F&& f, const std::string& what, const std::string& needle = "") {
  try {
    f();
    ADD_FAILURE() << what << ": no exception";
  } catch (const mert::Error& e) {
    if (!needle.empty()) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << what << ": " << e.what();
    }
  } catch (const std::exception& e) {
    ADD_FAILURE() << what << ": wrong exception type: " << e.what();
  }
}

}  // namespace mert_test
