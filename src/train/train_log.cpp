#include "train/train_log.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "io/atomic_file.h"
#include "mert/error.h"

namespace mert::train {

TrainLog::TrainLog(const std::string& path, int64_t keep_through) : path_(path) {
  std::vector<std::string> kept;
  if (keep_through >= 0) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      const auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (j.is_object() && j.value("update", int64_t(0)) <= keep_through) kept.push_back(line);
    }
  }
  io::write_file_atomic(path, [&](std::FILE* f) {
    for (const auto& line : kept) {
      io::write_all(f, line.data(), line.size(), path);
      io::write_all(f, "\n", 1, path);
    }
  });
  f_ = std::fopen(path.c_str(), "a");
  if (!f_) throw OutputError("cannot append to " + path + ": " + std::strerror(errno));
}

TrainLog::~TrainLog() {
  if (f_) std::fclose(f_);
}

void TrainLog::write(const std::string& json_line) {
  io::write_all(f_, json_line.data(), json_line.size(), path_);
  io::write_all(f_, "\n", 1, path_);
  if (std::fflush(f_) != 0) throw OutputError("cannot write " + path_ + ": " + std::strerror(errno));
}

}  // namespace mert::train
