// Streaming .npy writer: bounded memory for outputs far larger than RAM (hours of frames).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "mert/error.h"
#include "io/npy.h"

namespace mert {

NpyStreamWriter::NpyStreamWriter(const std::string& path, std::vector<int64_t> shape, at::ScalarType type)
    : path_(path), tmp_(path + ".tmp." + std::to_string(::getpid())), shape_(std::move(shape)), type_(type),
      elem_(static_cast<int64_t>(c10::elementSize(type))) {
  if (type != at::kFloat && type != at::kHalf) throw Error("cannot write " + path + ": streamed .npy files are float32 or float16");
  const std::string header = npy_header_bytes(type_, shape_, path);
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) throw OutputError("cannot write " + tmp_ + ": " + std::strerror(errno));
  int64_t numel = 1;
  for (auto d : shape_) numel *= d;
  data_start_ = static_cast<int64_t>(header.size());
  // Size the file up front (sparse): later blocks land at their offsets in any order.
  if (::pwrite(fd_, header.data(), header.size(), 0) != static_cast<ssize_t>(header.size()) ||
      ::ftruncate(fd_, data_start_ + numel * elem_) != 0) {
    const std::string err = std::strerror(errno);
    ::close(fd_);
    ::unlink(tmp_.c_str());
    throw OutputError("cannot write " + tmp_ + ": " + err);
  }
}

NpyStreamWriter::~NpyStreamWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(tmp_.c_str());
}

void NpyStreamWriter::write_at(int64_t offset, const at::Tensor& block) {
  const at::Tensor b = block.to(type_).contiguous();
  const char* p = static_cast<const char*>(b.data_ptr());
  size_t left = static_cast<size_t>(b.numel() * elem_);
  off_t pos = static_cast<off_t>(data_start_ + offset * elem_);
  while (left > 0) {
    const ssize_t n = ::pwrite(fd_, p, left, pos);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw OutputError("cannot write " + tmp_ + ": " + std::strerror(errno));
    p += n;
    pos += n;
    left -= static_cast<size_t>(n);
  }
}

void NpyStreamWriter::commit() {
  if (::fsync(fd_) != 0) throw OutputError("cannot sync " + tmp_ + ": " + std::strerror(errno));
  ::close(fd_);
  fd_ = -1;
  if (::rename(tmp_.c_str(), path_.c_str()) != 0)
    throw OutputError("cannot rename " + tmp_ + " to " + path_ + ": " + std::strerror(errno));
  committed_ = true;
}

}  // namespace mert
