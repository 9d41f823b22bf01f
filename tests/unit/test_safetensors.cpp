// safetensors: round trips for every dtype and corner shapes, and strict rejection (always as
// mert::Error) of truncated or malformed files.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "mert/error.h"
#include "io/weights.h"

namespace fs = std::filesystem;

#include "test_util.h"

using namespace mert_test;

namespace {

// A raw safetensors file from a header string and a data buffer.
std::string raw_file(const std::string& header, const std::string& data) {
  const std::uint64_t n = header.size();
  std::string out(reinterpret_cast<const char*>(&n), 8);
  return out + header + data;
}

bool same(const at::Tensor& a, const at::Tensor& b) {
  return a.scalar_type() == b.scalar_type() && a.sizes() == b.sizes() &&
         at::equal(a.to(at::kDouble), b.to(at::kDouble));
}

// Expects mert::Error specifically (not a crash, not another exception type).
mert::TensorMap sample_tensors() {
  at::manual_seed(1);
  mert::TensorMap m;
  m["f32"] = at::randn({3, 4});
  m["f16"] = at::randn({5}).to(at::kHalf);
  m["bf16"] = at::randn({2, 3}).to(at::kBFloat16);
  m["f64"] = at::randn({2, 2}, at::kDouble);
  m["i64"] = at::randint(-1000000, 1000000, {7}, at::kLong);
  m["i32"] = at::randint(-1000, 1000, {3}, at::kInt);
  m["i16"] = at::randint(-1000, 1000, {3}, at::kShort);
  m["i8"] = at::randint(-100, 100, {3}, at::kChar);
  m["u8"] = at::randint(0, 255, {3}, at::kByte);
  m["bool"] = at::randint(0, 2, {4}).to(at::kBool);
  m["scalar"] = at::scalar_tensor(3.25);
  m["zero_size"] = at::zeros({0, 3});
  m["z_last"] = at::arange(6, at::kFloat);  // non-empty last tensor: every truncation cuts data
  return m;
}

}  // namespace

TEST(Safetensors, RoundTripEveryDtypeAndMetadata) {
  TempDir dir;
  const auto in = sample_tensors();
  const std::map<std::string, std::string> meta{{"format", "pt"}, {"note", "round trip"}};
  mert::write_safetensors(dir / "a.safetensors", in, meta);
  const auto out = mert::read_safetensors(dir / "a.safetensors");
  ASSERT_EQ(out.size(), in.size());
  for (const auto& [name, t] : in) {
    ASSERT_TRUE(out.count(name)) << name;
    EXPECT_TRUE(same(out.at(name), t)) << name;
  }
  EXPECT_EQ(out.at("scalar").dim(), 0);
  EXPECT_EQ(out.at("zero_size").sizes(), at::IntArrayRef({0, 3}));
  EXPECT_EQ(mert::read_safetensors_metadata(dir / "a.safetensors"), meta);
  // No temp file left behind by the atomic write.
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir.path)) files += e.is_regular_file();
  EXPECT_EQ(files, 1);
}

TEST(Safetensors, LayoutSortedAlignedAndContiguous) {
  TempDir dir;
  mert::TensorMap in;
  const auto base = at::arange(12, at::kFloat).reshape({3, 4});
  in["b_transposed"] = base.t();  // non-contiguous input is written contiguous
  in["a_x"] = at::ones({1}, at::kHalf);
  mert::write_safetensors(dir / "l.safetensors", in);
  const std::string bytes = read_bytes(dir / "l.safetensors");
  std::uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ((8 + n) % 8, 0u);
  const std::string header = bytes.substr(8, n);
  EXPECT_LT(header.find("\"a_x\""), header.find("\"b_transposed\""));
  EXPECT_EQ(header.find("__metadata__"), std::string::npos);
  const auto out = mert::read_safetensors(dir / "l.safetensors");
  EXPECT_TRUE(same(out.at("b_transposed"), base.t()));
  EXPECT_TRUE(out.at("b_transposed").is_contiguous());
  // Data is ordered by element size, so the F32 tensor precedes the F16 one and every view is
  // aligned (read zero-copy, not copied).
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(out.at("b_transposed").data_ptr()) % 4, 0u);
  EXPECT_NE(header.find("\"b_transposed\":{\"data_offsets\":[0,48]"), std::string::npos) << header;
}

TEST(Safetensors, ZeroCopyViewOutlivesReaderAndMisalignedIsCopied) {
  TempDir dir;
  // Header of length 7 (not padded): data starts at file offset 15 -> misaligned F32.
  const std::string header = R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  const float v[2] = {1.5f, -2.0f};
  std::string data(reinterpret_cast<const char*>(v), 8);
  write_bytes(dir / "m.safetensors", raw_file(header, data));
  const auto t = mert::read_safetensors(dir / "m.safetensors").at("x");
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.data_ptr()) % 4, 0u);
  EXPECT_FLOAT_EQ(t[0].item<float>(), 1.5f);
  EXPECT_FLOAT_EQ(t[1].item<float>(), -2.0f);

  mert::write_safetensors(dir / "z.safetensors", {{"w", at::arange(1000, at::kFloat)}});
  at::Tensor w = mert::read_safetensors(dir / "z.safetensors").at("w");  // map dropped, view kept
  fs::remove(dir / "z.safetensors");  // mapping survives unlink
  EXPECT_EQ(w.sum().item<double>(), 999.0 * 1000 / 2);
}

TEST(Safetensors, TruncatedAtEveryCutPointThrows) {
  TempDir dir;
  mert::write_safetensors(dir / "t.safetensors", sample_tensors());
  const std::string bytes = read_bytes(dir / "t.safetensors");
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    write_bytes(dir / "cut.safetensors", bytes.substr(0, cut));
    expect_mert_error([&] { mert::read_safetensors(dir / "cut.safetensors"); }, "cut at " + std::to_string(cut));
  }
}

TEST(Safetensors, MalformedHeadersThrow) {
  TempDir dir;
  const std::string p = dir / "bad.safetensors";
  const std::string data(16, '\0');
  auto check = [&](const std::string& file, const std::string& what) {
    write_bytes(p, file);
    expect_mert_error([&] { mert::read_safetensors(p); }, what);
  };
  // Header length larger than the file.
  {
    std::string f = raw_file(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", data);
    const std::uint64_t huge = 1ull << 40;
    std::memcpy(f.data(), &huge, 8);
    check(f, "huge header length");
    const std::uint64_t just_over = f.size() - 7;
    std::memcpy(f.data(), &just_over, 8);
    check(f, "header length one past the end");
  }
  check(raw_file("{\"x\": {", data), "bad JSON");
  check(raw_file("[1, 2]  ", data), "header not an object");
  check(raw_file(R"({"x":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}})", data), "unknown dtype");
  check(raw_file(R"({"x":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})", data), "offsets out of range");
  check(raw_file(R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})", data), "offsets vs shape");
  check(raw_file(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", data), "begin > end");
  check(raw_file(R"({"x":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", data), "negative dim");
  check(raw_file(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,-8]}})", data), "negative offset");
  check(raw_file(R"({"x":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", data), "float dim");
  check(raw_file(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", data), "one offset");
  check(raw_file(R"({"x":{"shape":[2],"data_offsets":[0,8]}})", data), "no dtype");
  check(raw_file(R"({"x":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}})", data), "shape overflow");
  check(raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                 R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", data), "overlap");
  check(raw_file(R"({"__metadata__":{"k":1}})", data), "non-string metadata");
  check(std::string("\x05\x00\x00", 3), "shorter than the length field");
}

TEST(Safetensors, ByteFlipsInHeaderNeverEscapeAsOtherExceptions) {
  TempDir dir;
  mert::TensorMap in{{"a", at::arange(4, at::kFloat)}, {"b", at::ones({2, 2}, at::kHalf)}};
  mert::write_safetensors(dir / "f.safetensors", in);
  const std::string bytes = read_bytes(dir / "f.safetensors");
  std::uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  for (std::size_t i = 0; i < 8 + n; ++i) {
    for (unsigned char x : {0x01, 0x20, 0xFF}) {
      std::string b = bytes;
      b[i] = static_cast<char>(b[i] ^ x);
      write_bytes(dir / "g.safetensors", b);
      try {
        const auto out = mert::read_safetensors(dir / "g.safetensors");
        for (const auto& [k, t] : out) (void)t.sum();  // views must be readable
      } catch (const mert::Error&) {
      } catch (const std::exception& e) {
        ADD_FAILURE() << "byte " << i << " ^ " << int(x) << ": " << e.what();
      }
    }
  }
}

TEST(Safetensors, MissingFileAndBadWrites) {
  TempDir dir;
  expect_mert_error([&] { mert::read_safetensors(dir / "nope.safetensors"); }, "missing");
  expect_mert_error([&] { mert::read_safetensors(dir.path.string()); }, "directory");
  write_bytes(dir / "empty.safetensors", "");
  expect_mert_error([&] { mert::read_safetensors(dir / "empty.safetensors"); }, "empty");
  expect_mert_error([&] { mert::write_safetensors(dir / "no/such/dir/x.safetensors", {{"a", at::ones({1})}}); },
                    "missing directory");
  expect_mert_error([&] { mert::write_safetensors(dir / "c.safetensors", {{"a", at::ones({1}, at::kComplexFloat)}}); },
                    "complex dtype");
  EXPECT_FALSE(fs::exists(dir / "c.safetensors"));
}

// An independent reader/writer (json + struct + numpy, per the format spec) in Debian's python,
// so the format is not only checked against this implementation's own reader.
TEST(Safetensors, InteropWithIndependentPythonCodec) {
  if (std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "/usr/bin/python3 with numpy is not available";
  TempDir dir;
  mert::write_safetensors(dir / "ours.safetensors",
                          {{"w", at::arange(6, at::kFloat).reshape({2, 3}) / 4}, {"ids", at::arange(3, at::kLong) - 1},
                           {"h", at::full({2}, 0.5, at::kHalf)}},
                          {{"format", "pt"}});
  const std::string script =
      "/usr/bin/python3 -c \"import json, struct, sys, numpy as np\n"
      "d = sys.argv[1]\n"
      "b = open(d + '/ours.safetensors', 'rb').read()\n"
      "n, = struct.unpack('<Q', b[:8]); h = json.loads(b[8:8 + n]); buf = b[8 + n:]\n"
      "assert (8 + n) % 8 == 0 and h['__metadata__'] == {'format': 'pt'}, h\n"
      "def get(k, dt):\n"
      "  s, e = h[k]['data_offsets']; return np.frombuffer(buf[s:e], dt).reshape(h[k]['shape'])\n"
      "assert (get('w', '<f4') == np.arange(6).reshape(2, 3) / 4).all()\n"
      "assert (get('ids', '<i8') == np.arange(3) - 1).all() and (get('h', '<f2') == 0.5).all()\n"
      "# write one: tensors stored in reverse name order, an F64 scalar and a BF16 as raw bits\n"
      "a = np.arange(4, dtype='<f4'); s = np.array(2.25, '<f8'); bf = np.array([0x3fc0, 0xc000], '<u2')\n"
      "hdr = {'a': {'dtype': 'F32', 'shape': [4], 'data_offsets': [24, 40]},\n"
      "       's': {'dtype': 'F64', 'shape': [], 'data_offsets': [0, 8]},\n"
      "       'bf': {'dtype': 'BF16', 'shape': [2], 'data_offsets': [8, 12]}}\n"
      "hb = json.dumps(hdr).encode(); hb += b' ' * (-len(hb) % 8)\n"
      "data = s.tobytes() + bf.tobytes() + bytes(12) + a.tobytes()\n"
      "open(d + '/py.safetensors', 'wb').write(struct.pack('<Q', len(hb)) + hb + data)\n\" " + dir.path.string();
  ASSERT_EQ(std::system(script.c_str()), 0);
  const auto t = mert::read_safetensors(dir / "py.safetensors");
  EXPECT_TRUE(same(t.at("a"), at::arange(4, at::kFloat)));
  EXPECT_EQ(t.at("s").dim(), 0);
  EXPECT_EQ(t.at("s").item<double>(), 2.25);
  EXPECT_EQ(t.at("bf").scalar_type(), at::kBFloat16);
  EXPECT_EQ(t.at("bf")[0].item<float>(), 1.5f);
  EXPECT_EQ(t.at("bf")[1].item<float>(), -2.0f);
}
