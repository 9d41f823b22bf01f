// ZIP reader: stored entries, local headers whose extra field differs from the central one,
// ZIP64 records, comments; compressed, truncated and corrupted archives -> mert::Error.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "io/mapped_file.h"
#include "io/zip_archive.h"
#include "mert/error.h"

namespace fs = std::filesystem;
using mert::io::MappedFile;
using mert::io::ZipArchive;

#include "test_util.h"

using namespace mert_test;

namespace {

std::uint32_t crc32(const std::string& s) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : s) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return ~c;
}

void put16(std::string& s, std::uint16_t v) { s.append(reinterpret_cast<const char*>(&v), 2); }
void put32(std::string& s, std::uint32_t v) { s.append(reinterpret_cast<const char*>(&v), 4); }
void put64(std::string& s, std::uint64_t v) { s.append(reinterpret_cast<const char*>(&v), 8); }

struct Entry {
  std::string name, data;
  std::uint16_t method = 0;
  std::size_t local_extra = 0;  // padding in the local header only (like torch's alignment)
};

// Builds an archive by hand so ZIP64 paths can be exercised without 4 GiB files.
std::string build_zip(const std::vector<Entry>& entries, bool zip64, const std::string& comment = "") {
  std::string out, cd;
  for (const auto& e : entries) {
    const std::uint64_t offset = out.size();
    put32(out, 0x04034b50);
    put16(out, zip64 ? 45 : 20);
    put16(out, 0);
    put16(out, e.method);
    put16(out, 0);
    put16(out, 0x21);
    put32(out, crc32(e.data));
    put32(out, static_cast<std::uint32_t>(e.data.size()));
    put32(out, static_cast<std::uint32_t>(e.data.size()));
    put16(out, static_cast<std::uint16_t>(e.name.size()));
    const std::size_t extra = e.local_extra ? std::max<std::size_t>(e.local_extra, 4) : 0;
    put16(out, static_cast<std::uint16_t>(extra));
    out += e.name;
    if (extra) {  // an unknown extra block (id 0x4654), as torch uses for alignment padding
      put16(out, 0x4654);
      put16(out, static_cast<std::uint16_t>(extra - 4));
      out.append(extra - 4, 'Z');
    }
    out += e.data;

    put32(cd, 0x02014b50);
    put16(cd, 45);
    put16(cd, zip64 ? 45 : 20);
    put16(cd, 0);
    put16(cd, e.method);
    put16(cd, 0);
    put16(cd, 0x21);
    put32(cd, crc32(e.data));
    put32(cd, zip64 ? 0xFFFFFFFFu : static_cast<std::uint32_t>(e.data.size()));
    put32(cd, zip64 ? 0xFFFFFFFFu : static_cast<std::uint32_t>(e.data.size()));
    put16(cd, static_cast<std::uint16_t>(e.name.size()));
    put16(cd, zip64 ? 28 : 0);
    put16(cd, 0);
    put16(cd, 0);
    put16(cd, 0);
    put32(cd, 0);
    put32(cd, zip64 ? 0xFFFFFFFFu : static_cast<std::uint32_t>(offset));
    cd += e.name;
    if (zip64) {
      put16(cd, 0x0001);
      put16(cd, 24);
      put64(cd, e.data.size());
      put64(cd, e.data.size());
      put64(cd, offset);
    }
  }
  const std::uint64_t cd_offset = out.size();
  out += cd;
  if (zip64) {
    const std::uint64_t rec = out.size();
    put32(out, 0x06064b50);
    put64(out, 44);
    put16(out, 45);
    put16(out, 45);
    put32(out, 0);
    put32(out, 0);
    put64(out, entries.size());
    put64(out, entries.size());
    put64(out, cd.size());
    put64(out, cd_offset);
    put32(out, 0x07064b50);
    put32(out, 0);
    put64(out, rec);
    put32(out, 1);
  }
  put32(out, 0x06054b50);
  put16(out, 0);
  put16(out, 0);
  put16(out, zip64 ? 0xFFFF : static_cast<std::uint16_t>(entries.size()));
  put16(out, zip64 ? 0xFFFF : static_cast<std::uint16_t>(entries.size()));
  put32(out, zip64 ? 0xFFFFFFFFu : static_cast<std::uint32_t>(cd.size()));
  put32(out, zip64 ? 0xFFFFFFFFu : static_cast<std::uint32_t>(cd_offset));
  put16(out, static_cast<std::uint16_t>(comment.size()));
  out += comment;
  return out;
}

std::vector<Entry> sample_entries() {
  return {{"archive/data.pkl", "pickle bytes here", 0, 0},
          {"archive/data/0", std::string(100, '\x7f'), 0, 37},
          {"archive/version", "3\n", 0, 5},
          {"archive/empty", "", 0, 0}};
}

std::string as_string(const mert::io::ByteView& v) { return std::string(reinterpret_cast<const char*>(v.data), v.size); }

ZipArchive open_zip(const std::string& path) { return ZipArchive(MappedFile::open(path)); }

}  // namespace

TEST(ZipArchive, ReadsStoredEntriesPlainAndZip64) {
  TempDir dir;
  for (bool zip64 : {false, true}) {
    SCOPED_TRACE(zip64 ? "zip64" : "plain");
    const std::string p = dir / (zip64 ? "z64.zip" : "plain.zip");
    write_bytes(p, build_zip(sample_entries(), zip64, zip64 ? "" : "a trailing comment"));
    const ZipArchive zip = open_zip(p);
    ASSERT_EQ(zip.entries().size(), 4u);
    for (const auto& e : sample_entries()) {
      ASSERT_NE(zip.find(e.name), nullptr) << e.name;
      EXPECT_EQ(as_string(zip.data(e.name)), e.data) << e.name;
    }
    EXPECT_EQ(zip.find("archive/nope"), nullptr);
    expect_mert_error([&] { zip.data("archive/nope"); }, "absent entry");
    // Cross-check the hand-built archive against Python's zipfile, so the builder (and thus
    // this test) is not just agreeing with itself.
    if (oracle_python_has("zipfile")) {
      const std::string cmd = "/usr/bin/python3 -c \"import zipfile,sys; z=zipfile.ZipFile(sys.argv[1]); "
                              "assert z.testzip() is None; assert z.read('archive/version')==b'3\\n'\" " + p;
      EXPECT_EQ(std::system(cmd.c_str()), 0) << "python zipfile rejects " << p;
    }
  }
}

TEST(ZipArchive, ReadsArchivesWrittenByPythonZipfile) {
  if (!oracle_python_has("zipfile")) GTEST_SKIP() << "/usr/bin/python3 not available";
  TempDir dir;
  const std::string p = dir / "py.zip";
  const std::string cmd =
      "/usr/bin/python3 -c \"import zipfile,sys\n"
      "with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_STORED) as z:\n"
      "  z.writestr('a/b.txt', b'hello')\n"
      "  with z.open('a/big', 'w', force_zip64=True) as f: f.write(bytes(range(256))*3)\n"
      "  z.comment = b'comment'\n\" " + p;
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  const ZipArchive zip = open_zip(p);
  EXPECT_EQ(as_string(zip.data("a/b.txt")), "hello");
  const std::string big = as_string(zip.data("a/big"));
  ASSERT_EQ(big.size(), 768u);
  for (std::size_t i = 0; i < big.size(); ++i) ASSERT_EQ(static_cast<unsigned char>(big[i]), i % 256);
}

TEST(ZipArchive, CompressedAndEncryptedEntriesAreRefused) {
  TempDir dir;
  auto entries = sample_entries();
  entries[1].method = 8;
  write_bytes(dir / "c.zip", build_zip(entries, false));
  const ZipArchive zip = open_zip(dir / "c.zip");
  expect_mert_error([&] { zip.data("archive/data/0"); }, "deflate", "compressed entries not supported");
  EXPECT_EQ(as_string(zip.data("archive/version")), "3\n");  // other entries still readable
}

TEST(ZipArchive, TruncationAtEveryCutPointThrows) {
  TempDir dir;
  for (bool zip64 : {false, true}) {
    const std::string bytes = build_zip(sample_entries(), zip64, "c");
    for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
      write_bytes(dir / "cut.zip", bytes.substr(0, cut));
      expect_mert_error([&] { open_zip(dir / "cut.zip"); }, "cut at " + std::to_string(cut));
    }
  }
}

TEST(ZipArchive, CorruptedCentralDirectoryThrowsOrStaysInBounds) {
  TempDir dir;
  for (bool zip64 : {false, true}) {
    const std::string bytes = build_zip(sample_entries(), zip64);
    const std::size_t cd_start = bytes.rfind(std::string("PK\x01\x02", 4), std::string::npos);
    const std::size_t first_cd = bytes.find(std::string("PK\x01\x02", 4));
    ASSERT_NE(cd_start, std::string::npos);
    int errors = 0;
    for (std::size_t i = first_cd; i < bytes.size(); ++i) {
      for (unsigned char x : {0x01, 0xFF}) {
        std::string b = bytes;
        b[i] = static_cast<char>(b[i] ^ x);
        write_bytes(dir / "flip.zip", b);
        try {
          const ZipArchive zip = open_zip(dir / "flip.zip");
          for (const auto& e : zip.entries()) {
            const auto v = zip.data(e);
            const auto* base = zip.file()->data();
            ASSERT_TRUE(v.data >= base && v.data + v.size <= base + zip.file()->size()) << "byte " << i;
          }
        } catch (const mert::Error&) {
          ++errors;
        } catch (const std::exception& e) {
          ADD_FAILURE() << "byte " << i << ": wrong exception type: " << e.what();
        }
      }
    }
    EXPECT_GT(errors, 0);
    // Specific corruptions that must be detected.
    std::string b = bytes;
    b[first_cd] = 'X';  // central directory signature
    write_bytes(dir / "sig.zip", b);
    expect_mert_error([&] { open_zip(dir / "sig.zip"); }, "central signature");
    b = bytes;
    b[first_cd + 46] ^= 0x20;  // first entry's name: no longer matches its local header
    write_bytes(dir / "name.zip", b);
    expect_mert_error([&] {
      const ZipArchive zip = open_zip(dir / "name.zip");
      for (const auto& e : zip.entries()) zip.data(e);
    }, "name mismatch");
  }
}

TEST(ZipArchive, NotAZip) {
  TempDir dir;
  write_bytes(dir / "junk", std::string(1000, 'j'));
  expect_mert_error([&] { open_zip(dir / "junk"); }, "junk", "end of central directory not found");
  write_bytes(dir / "tiny", "PK");
  expect_mert_error([&] { open_zip(dir / "tiny"); }, "tiny");
  EXPECT_FALSE(ZipArchive::looks_like_zip(*MappedFile::open(dir / "junk")));
}
