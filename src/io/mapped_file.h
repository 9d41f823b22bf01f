#pragma once
// Read-only memory map of a whole file. Owned through shared_ptr so that tensors created over
// the mapping (torch::from_blob / at::Storage deleters) keep it alive after the reader returns.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace mert::io {

class MappedFile {
 public:
  // Maps `path` read-only. Throws mert::Error for missing, unreadable, non-regular or empty
  // files (an empty file cannot be mapped and is never a valid weight file).
  static std::shared_ptr<const MappedFile> open(const std::string& path);

  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  MappedFile(std::string path, const std::uint8_t* data, std::size_t size)
      : path_(std::move(path)), data_(data), size_(size) {}

  std::string path_;
  const std::uint8_t* data_;
  std::size_t size_;
};

using MappedFilePtr = std::shared_ptr<const MappedFile>;

}  // namespace mert::io
