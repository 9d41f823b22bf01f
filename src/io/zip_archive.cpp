#include "io/zip_archive.h"

#include <algorithm>

#include "io/bytes.h"
#include "mert/error.h"

namespace mert::io {
namespace {

constexpr std::uint32_t kLocalSig = 0x04034b50;
constexpr std::uint32_t kCentralSig = 0x02014b50;
constexpr std::uint32_t kEocdSig = 0x06054b50;
constexpr std::uint32_t kZip64LocatorSig = 0x07064b50;
constexpr std::uint32_t kZip64EocdSig = 0x06064b50;
constexpr std::size_t kEocdSize = 22;
constexpr std::size_t kZip64LocatorSize = 20;
constexpr std::size_t kZip64EocdSize = 56;
constexpr std::size_t kCentralSize = 46;
constexpr std::size_t kLocalSize = 30;

}  // namespace

bool ZipArchive::looks_like_zip(const MappedFile& f) {
  return f.size() >= 4 && load_u32(f.data()) == kLocalSig;
}

ZipArchive::ZipArchive(MappedFilePtr file) : file_(std::move(file)) {
  const std::uint8_t* base = file_->data();
  const std::uint64_t size = file_->size();
  auto fail = [&](const std::string& what) { return Error("invalid zip archive " + file_->path() + ": " + what); };

  // The EOCD is the last 22 bytes plus a comment of up to 64 KiB; scan backwards for a
  // signature whose comment length reaches exactly to the end of the file.
  if (size < kEocdSize) throw fail("file too short to be a zip archive (truncated?)");
  std::uint64_t eocd = UINT64_MAX;
  const std::uint64_t lowest = size > kEocdSize + 0xFFFF ? size - kEocdSize - 0xFFFF : 0;
  for (std::uint64_t pos = size - kEocdSize + 1; pos-- > lowest;) {
    if (load_u32(base + pos) == kEocdSig && pos + kEocdSize + load_u16(base + pos + 20) == size) {
      eocd = pos;
      break;
    }
  }
  if (eocd == UINT64_MAX) throw fail("end of central directory not found (truncated or not a zip file)");

  const std::uint8_t* e = base + eocd;
  if (load_u16(e + 4) != 0 || load_u16(e + 6) != 0) throw fail("multi-disk archives are not supported");
  std::uint64_t count = load_u16(e + 10);
  std::uint64_t cd_size = load_u32(e + 12);
  std::uint64_t cd_offset = load_u32(e + 16);
  std::uint64_t cd_end_limit = eocd;  // the central directory must end before this

  // ZIP64: a locator immediately precedes the EOCD and points at the ZIP64 EOCD record, whose
  // 64-bit fields replace the (saturated) 16/32-bit ones.
  if (eocd >= kZip64LocatorSize && load_u32(base + eocd - kZip64LocatorSize) == kZip64LocatorSig) {
    const std::uint8_t* loc = base + eocd - kZip64LocatorSize;
    const std::uint64_t rec = load_u64(loc + 8);
    if (rec > eocd - kZip64LocatorSize || eocd - kZip64LocatorSize - rec < kZip64EocdSize)
      throw fail("ZIP64 end of central directory offset out of range");
    const std::uint8_t* z = base + rec;
    if (load_u32(z) != kZip64EocdSig) throw fail("bad ZIP64 end of central directory signature");
    count = load_u64(z + 32);
    cd_size = load_u64(z + 40);
    cd_offset = load_u64(z + 48);
    cd_end_limit = rec;
  }
  if (cd_offset > cd_end_limit || cd_size > cd_end_limit - cd_offset)
    throw fail("central directory out of range (truncated?)");
  // Every entry needs at least 46 bytes: this bounds `count` before reserving memory.
  if (count > cd_size / kCentralSize) throw fail("entry count " + std::to_string(count) + " does not fit the central directory");

  cd_offset_ = cd_offset;
  entries_.reserve(count);
  std::uint64_t pos = cd_offset;
  const std::uint64_t cd_end = cd_offset + cd_size;
  for (std::uint64_t i = 0; i < count; ++i) {
    if (cd_end - pos < kCentralSize) throw fail("central directory truncated at entry " + std::to_string(i));
    const std::uint8_t* c = base + pos;
    if (load_u32(c) != kCentralSig) throw fail("bad central directory signature at entry " + std::to_string(i));
    ZipEntry z;
    z.flags = load_u16(c + 8);
    z.method = load_u16(c + 10);
    z.compressed_size = load_u32(c + 20);
    z.uncompressed_size = load_u32(c + 24);
    const std::size_t name_len = load_u16(c + 28), extra_len = load_u16(c + 30), comment_len = load_u16(c + 32);
    const std::uint16_t disk = load_u16(c + 34);
    z.local_header_offset = load_u32(c + 42);
    if (cd_end - pos - kCentralSize < name_len + extra_len + comment_len)
      throw fail("central directory entry " + std::to_string(i) + " runs past the directory");
    z.name.assign(reinterpret_cast<const char*>(c + kCentralSize), name_len);

    // ZIP64 extended information (id 1): present fields are exactly those saturated above,
    // in the fixed order uncompressed, compressed, local header offset, disk.
    const std::uint8_t* x = c + kCentralSize + name_len;
    const std::uint8_t* x_end = x + extra_len;
    while (x_end - x >= 4) {
      const std::uint16_t id = load_u16(x), len = load_u16(x + 2);
      if (static_cast<std::size_t>(x_end - x - 4) < len) throw fail("extra field overruns entry '" + z.name + "'");
      if (id == 0x0001) {
        const std::uint8_t* f = x + 4;
        const std::uint8_t* f_end = f + len;
        auto take = [&](std::uint64_t& v) {
          if (f_end - f < 8) throw fail("ZIP64 extra field too short in entry '" + z.name + "'");
          v = load_u64(f);
          f += 8;
        };
        if (z.uncompressed_size == 0xFFFFFFFFu) take(z.uncompressed_size);
        if (z.compressed_size == 0xFFFFFFFFu) take(z.compressed_size);
        if (z.local_header_offset == 0xFFFFFFFFu) take(z.local_header_offset);
      }
      x += 4 + len;
    }
    if (disk != 0 && disk != 0xFFFF) throw fail("multi-disk archives are not supported");
    if (z.local_header_offset >= cd_offset) throw fail("entry '" + z.name + "' local header offset out of range");
    if (!index_.emplace(z.name, entries_.size()).second) throw fail("duplicate entry '" + z.name + "'");
    entries_.push_back(std::move(z));
    pos += kCentralSize + name_len + extra_len + comment_len;
  }
}

const ZipEntry* ZipArchive::find(const std::string& name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

ByteView ZipArchive::data(const std::string& name) const {
  const ZipEntry* e = find(name);
  if (!e) throw Error("zip archive " + path() + " has no entry '" + name + "'");
  return data(*e);
}

ByteView ZipArchive::data(const ZipEntry& z) const {
  auto fail = [&](const std::string& what) {
    return Error("cannot read entry '" + z.name + "' of zip archive " + path() + ": " + what);
  };
  if (z.flags & 0x1) throw fail("encrypted entries are not supported");
  if (z.method != 0)
    throw fail("compressed entries not supported (method " + std::to_string(z.method) +
               "); re-save with torch.save default settings");
  if (z.compressed_size != z.uncompressed_size) throw fail("stored entry with compressed size != size");
  const std::uint64_t size = file_->size();
  const std::uint64_t off = z.local_header_offset;
  if (off > size || size - off < kLocalSize) throw fail("local header out of range (truncated?)");
  const std::uint8_t* l = file_->data() + off;
  if (load_u32(l) != kLocalSig) throw fail("bad local header signature (corrupted archive?)");
  const std::uint64_t name_len = load_u16(l + 26), extra_len = load_u16(l + 28);
  const std::uint64_t start = off + kLocalSize + name_len + extra_len;
  if (start > size) throw fail("local header runs past the end of the file (truncated?)");
  if (name_len != z.name.size() || std::memcmp(l + kLocalSize, z.name.data(), name_len) != 0)
    throw fail("local header name does not match the central directory");
  if (start > cd_offset_ || cd_offset_ - start < z.compressed_size)
    throw fail("data runs past the central directory (truncated or corrupted?)");
  return ByteView{file_->data() + start, static_cast<std::size_t>(z.compressed_size)};
}

}  // namespace mert::io
