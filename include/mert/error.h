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

}  // namespace mert
