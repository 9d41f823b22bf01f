#pragma once
// One exception type for everything libmert refuses or fails at. The message carries the
// context a user needs (file, tensor name, expected vs got); tools print it as one line.
#include <stdexcept>
#include <string>

namespace mert {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// Writing an output failed (disk full, file-size limit, read-only or vanished directory).
// Unlike a bad input, this will fail for every following item too, so runs stop on it
// instead of recording it per item and going on.
class OutputError : public Error {
 public:
  explicit OutputError(const std::string& what) : Error(what) {}
};

// The advice a run prints after an OutputError: what was kept and how to continue.
inline std::string output_error_hint() {
  return "outputs written so far are complete and kept; free space (or fix the output "
         "directory) and rerun the same command to continue";
}

}  // namespace mert
