#pragma once
// `<run dir>/log.jsonl`: one JSON object per line, appended and flushed as training goes.
// On resume, lines from updates after the checkpoint (logged before a kill, then redone) are
// dropped first, so the log reads as one uninterrupted run.
#include <cstdint>
#include <cstdio>
#include <string>

namespace mert::train {

class TrainLog {
 public:
  // Keeps the existing lines whose "update" is <= keep_through; keep_through = -1 starts a
  // fresh log.
  TrainLog(const std::string& path, int64_t keep_through);
  ~TrainLog();
  TrainLog(const TrainLog&) = delete;
  TrainLog& operator=(const TrainLog&) = delete;
  void write(const std::string& json_line);

 private:
  std::string path_;
  std::FILE* f_ = nullptr;
};

}  // namespace mert::train
