#include "io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "mert/error.h"

namespace mert::io {
namespace {

std::string errno_text() { return std::strerror(errno); }

// Directory holding `path` ("." for a bare file name), whose entry the rename modifies.
std::string parent_dir(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

void write_all(std::FILE* f, const void* data, std::size_t size, const std::string& path) {
  if (size == 0) return;
  if (std::fwrite(data, 1, size, f) != size) {
    throw OutputError("cannot write " + path + ": " + errno_text());
  }
}

void write_file_atomic(const std::string& path, const std::function<void(std::FILE*)>& writer) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) throw OutputError("cannot create " + tmp + ": " + errno_text());

  // From here on, any failure must remove the temp file before propagating.
  auto fail = [&](const std::string& what) {
    const std::string msg = what + ": " + errno_text();
    if (f) std::fclose(f);
    std::remove(tmp.c_str());
    throw OutputError(msg);
  };
  try {
    writer(f);
  } catch (...) {
    std::fclose(f);
    std::remove(tmp.c_str());
    throw;
  }
  if (std::fflush(f) != 0 || std::ferror(f)) fail("cannot write " + tmp);
  if (::fsync(::fileno(f)) != 0) fail("cannot fsync " + tmp);
  const int rc = std::fclose(f);
  f = nullptr;
  if (rc != 0) fail("cannot close " + tmp);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) fail("cannot rename " + tmp + " to " + path);

  // The data is durable; make the directory entry durable too. A failure here is reported,
  // but the new file is already in place, so nothing is removed.
  const std::string dir = parent_dir(path);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd < 0) throw OutputError("cannot open directory " + dir + " to fsync: " + errno_text());
  const int frc = ::fsync(dfd);
  const int saved = errno;
  ::close(dfd);
  if (frc != 0) throw OutputError("cannot fsync directory " + dir + ": " + std::strerror(saved));
}

void write_text_atomic(const std::string& path, const std::string& text) {
  write_file_atomic(path, [&](std::FILE* f) { write_all(f, text.data(), text.size(), path); });
}

}  // namespace mert::io
