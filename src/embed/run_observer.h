#pragma once
// What a catalogue run (embedding, teacher features, labels) reports as it goes, and its totals.
// Torch-free, so that the teacher runs and the tool's progress display need no libtorch headers.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mert {

struct FileEvent {
  enum class Kind { Ok, Failed, Skipped } kind;
  std::string path, output, reason;
  std::string warning;  // Ok: what the decoder accepted with a warning (see decode_audio), else empty
  double audio_sec = 0, compute_sec = 0;
  std::vector<int64_t> shape;
};

class RunObserver {
 public:
  virtual ~RunObserver() = default;
  virtual void on_start(size_t n_items) {}
  virtual void on_file(const FileEvent& e) = 0;
  // Called after each chunk with the audio seconds finished so far in the files being embedded,
  // so a single long file still shows progress.
  virtual void on_chunk(double in_flight_audio_sec) {}
};

struct RunStats {
  int64_t ok = 0, failed = 0, skipped = 0;
  int64_t warned = 0;  // of the ok files, those decoded with a warning
  double audio_sec = 0, compute_sec = 0, wall_sec = 0;
};

}  // namespace mert
