#pragma once
// Minimal read-only ZIP reader over a memory map, for torch.save archives. Only STORED entries
// can be read (torch.save never compresses); data is returned as views into the mapping.
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "io/mapped_file.h"

namespace mert::io {

struct ZipEntry {
  std::string name;
  std::uint16_t method = 0;  // 0 = stored, 8 = deflate, ...
  std::uint16_t flags = 0;
  std::uint64_t compressed_size = 0;
  std::uint64_t uncompressed_size = 0;
  std::uint64_t local_header_offset = 0;
};

struct ByteView {
  const std::uint8_t* data = nullptr;
  std::size_t size = 0;
};

class ZipArchive {
 public:
  // Parses the end-of-central-directory record (ZIP64 too) and the central directory.
  // Throws mert::Error (naming the file) for anything truncated or inconsistent.
  explicit ZipArchive(MappedFilePtr file);

  // True if the file starts with a local file header signature ("PK\3\4").
  static bool looks_like_zip(const MappedFile& file);

  const std::vector<ZipEntry>& entries() const { return entries_; }
  const ZipEntry* find(const std::string& name) const;  // nullptr if absent

  // The bytes of a stored entry, located through its local header (whose name/extra lengths
  // may differ from the central directory's). Throws for compressed or encrypted entries.
  ByteView data(const ZipEntry& entry) const;
  ByteView data(const std::string& name) const;  // throws if absent

  const MappedFilePtr& file() const { return file_; }
  const std::string& path() const { return file_->path(); }

 private:
  MappedFilePtr file_;
  std::vector<ZipEntry> entries_;
  std::unordered_map<std::string, std::size_t> index_;
  std::uint64_t cd_offset_ = 0;  // entry data must end before the central directory
};

}  // namespace mert::io
