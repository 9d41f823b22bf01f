// .npy: round trips, exact header layout, interop with numpy in both directions (when Debian's
// python has numpy), and mert::Error for truncated or unsupported files.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "mert/error.h"
#include "io/npy.h"

namespace fs = std::filesystem;

#include "test_util.h"

using namespace mert_test;

namespace {

}  // namespace

TEST(Npy, RoundTripDtypesAndShapes) {
  TempDir dir;
  at::manual_seed(2);
  const std::vector<at::Tensor> cases = {
      at::randn({3, 4}),
      at::randn({2, 3, 5}, at::kDouble),
      at::randint(-(1LL << 40), 1LL << 40, {6}, at::kLong),
      at::randint(-1000, 1000, {1, 7}, at::kInt),
      at::scalar_tensor(1.25, at::kFloat),
      at::zeros({0, 5}),
      at::arange(12, at::kFloat).reshape({3, 4}).t(),  // non-contiguous input
      at::randint(0, 256, {4, 3}, at::kByte),
      at::randint(0, 2, {5, 2}).to(at::kBool),
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const std::string p = dir / ("c" + std::to_string(i) + ".npy");
    mert::write_npy(p, cases[i]);
    const at::Tensor back = mert::read_npy(p);
    EXPECT_EQ(back.scalar_type(), cases[i].scalar_type()) << i;
    EXPECT_EQ(back.sizes(), cases[i].sizes()) << i;
    EXPECT_TRUE(at::equal(back, cases[i].contiguous())) << i;
  }
}

TEST(Npy, HeaderLayout) {
  TempDir dir;
  mert::write_npy(dir / "h.npy", at::zeros({2, 3}));
  const std::string b = read_bytes(dir / "h.npy");
  ASSERT_GE(b.size(), 10u);
  EXPECT_EQ(b.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  const std::size_t hlen = static_cast<unsigned char>(b[8]) | (static_cast<unsigned char>(b[9]) << 8);
  EXPECT_EQ((10 + hlen) % 64, 0u);
  EXPECT_EQ(b[10 + hlen - 1], '\n');
  EXPECT_EQ(b.substr(10).rfind("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 0), 0u);
  EXPECT_EQ(b.size(), 10 + hlen + 24);
  mert::write_npy(dir / "v.npy", at::zeros({5}, at::kLong));
  EXPECT_NE(read_bytes(dir / "v.npy").find("'shape': (5,), }"), std::string::npos);
  mert::write_npy(dir / "s.npy", at::scalar_tensor(1.0, at::kDouble));
  EXPECT_NE(read_bytes(dir / "s.npy").find("'shape': (), }"), std::string::npos);
}

TEST(Npy, InteropWithNumpy) {
  if (!oracle_python_has("numpy")) GTEST_SKIP() << "/usr/bin/python3 lacks numpy";
  TempDir dir;
  // numpy -> us: v1 and v2 headers, all four dtypes; plus files we must refuse.
  const std::string gen =
      "/usr/bin/python3 -c \"import numpy as np, sys\n"
      "d = sys.argv[1]\n"
      "a = np.arange(24).reshape(2, 3, 4)\n"
      "for t in ['f4', 'f8', 'i8', 'i4']: np.save(d + '/np_' + t + '.npy', (a * 3 - 7).astype('<' + t))\n"
      "with open(d + '/v2.npy', 'wb') as f: np.lib.format.write_array(f, a.astype('<f4'), version=(2, 0))\n"
      "np.save(d + '/fortran.npy', np.asfortranarray(a.astype('<f4')))\n"
      "np.save(d + '/big.npy', a.astype('>f4'))\n"
      "np.save(d + '/f2.npy', a.astype('<f2'))\n"
      "np.save(d + '/i1.npy', a.astype('i1'))\n"
      "np.save(d + '/bool.npy', a % 3 == 0)\n"
      "np.save(d + '/u1.npy', (a * 11 % 256).astype(np.uint8))\n"
      "np.save(d + '/scalar.npy', np.float64(2.5))\n\" " + dir.path.string();
  ASSERT_EQ(std::system(gen.c_str()), 0);
  const at::Tensor expect = at::arange(24, at::kLong).reshape({2, 3, 4}) * 3 - 7;
  const std::pair<const char*, at::ScalarType> types[] = {
      {"f4", at::kFloat}, {"f8", at::kDouble}, {"i8", at::kLong}, {"i4", at::kInt}};
  for (const auto& [t, st] : types) {
    const at::Tensor x = mert::read_npy(dir / (std::string("np_") + t + ".npy"));
    EXPECT_EQ(x.scalar_type(), st) << t;
    EXPECT_TRUE(at::equal(x, expect.to(st))) << t;
  }
  EXPECT_TRUE(at::equal(mert::read_npy(dir / "v2.npy"), at::arange(24, at::kFloat).reshape({2, 3, 4})));
  const at::Tensor s = mert::read_npy(dir / "scalar.npy");
  EXPECT_EQ(s.dim(), 0);
  EXPECT_EQ(s.item<double>(), 2.5);
  expect_mert_error([&] { mert::read_npy(dir / "fortran.npy"); }, "fortran", "fortran_order");
  expect_mert_error([&] { mert::read_npy(dir / "big.npy"); }, "big-endian", "'>f4'");
  // float16 (the frame-level probe cache's dtype) reads as kHalf, every value exact (0..69 are).
  const at::Tensor f2 = mert::read_npy(dir / "f2.npy");
  EXPECT_EQ(f2.scalar_type(), at::kHalf);
  EXPECT_TRUE(at::equal(f2.to(at::kFloat), at::arange(24, at::kFloat).reshape({2, 3, 4})));
  EXPECT_TRUE(at::equal(mert::read_npy_index(dir / "f2.npy", 1).to(at::kFloat),
                        at::arange(12, 24, at::kFloat).reshape({3, 4})));
  expect_mert_error([&] { mert::read_npy(dir / "i1.npy"); }, "int8", "'|i1'");

  // One-byte dtypes numpy writes for 0/1 targets: '|b1' (bool) and '|u1' (uint8).
  const at::Tensor b = mert::read_npy(dir / "bool.npy");
  EXPECT_EQ(b.scalar_type(), at::kBool);
  EXPECT_TRUE(at::equal(b, (at::arange(24, at::kLong) % 3 == 0).reshape({2, 3, 4})));
  const at::Tensor u = mert::read_npy(dir / "u1.npy");
  EXPECT_EQ(u.scalar_type(), at::kByte);
  EXPECT_TRUE(at::equal(u, (at::arange(24, at::kLong) * 11 % 256).reshape({2, 3, 4}).to(at::kByte)));
  // A bool file holding a byte other than 0/1 (numpy reads it as True) comes back as a clean 1.
  std::string raw = read_bytes(dir / "bool.npy");
  raw[raw.size() - 24] = 7;  // element 0 was True
  raw[raw.size() - 23] = 9;  // element 1 was False
  write_bytes(dir / "bool7.npy", raw);
  const at::Tensor b7 = mert::read_npy(dir / "bool7.npy");
  const auto* bytes = static_cast<const unsigned char*>(b7.data_ptr());  // the stored bytes
  EXPECT_EQ(bytes[0], 1);
  EXPECT_EQ(bytes[1], 1);
  EXPECT_EQ(bytes[2], 0);

  // us -> numpy.
  mert::write_npy(dir / "ours.npy", at::arange(6, at::kDouble).reshape({2, 3}) / 4);
  mert::write_npy(dir / "ours_i4.npy", at::arange(5, at::kInt) - 2);
  mert::write_npy(dir / "ours_b1.npy", at::arange(6) % 2 == 1);
  const std::string check =
      "/usr/bin/python3 -c \"import numpy as np, sys\n"
      "a = np.load(sys.argv[1] + '/ours.npy')\n"
      "assert a.dtype == np.float64 and a.shape == (2, 3) and (a == np.arange(6).reshape(2, 3) / 4).all(), a\n"
      "c = np.load(sys.argv[1] + '/ours_b1.npy')\n"
      "assert c.dtype == np.bool_ and (c == (np.arange(6) % 2 == 1)).all(), c\n"
      "b = np.load(sys.argv[1] + '/ours_i4.npy')\n"
      "assert b.dtype == np.int32 and (b == np.arange(5) - 2).all(), b\n\" " + dir.path.string();
  EXPECT_EQ(std::system(check.c_str()), 0);
}

// The streamed writer in float16, and reading one index of the first axis back: what the
// frame-level probe cache writes ([layers, T, D]) and loads one layer at a time.
TEST(Npy, HalfStreamAndFirstAxisIndex) {
  TempDir dir;
  at::manual_seed(5);
  const at::Tensor x = at::randn({3, 7, 5});
  {
    mert::NpyStreamWriter w(dir / "h.npy", {3, 7, 5}, at::kHalf);
    w.write_at(35, x[1]);  // blocks in any order
    w.write_at(0, x[0]);
    w.write_at(70, x[2].to(at::kDouble));
    w.commit();
  }
  const at::Tensor back = mert::read_npy(dir / "h.npy");
  EXPECT_EQ(back.scalar_type(), at::kHalf);
  EXPECT_TRUE(at::equal(back, x.to(at::kHalf)));
  for (int64_t i = 0; i < 3; ++i) EXPECT_TRUE(at::equal(mert::read_npy_index(dir / "h.npy", i), x[i].to(at::kHalf))) << i;
  expect_mert_error([&] { mert::read_npy_index(dir / "h.npy", 3); }, "index past the end", "out of range");
  expect_mert_error([&] { mert::read_npy_index(dir / "h.npy", -1); }, "negative index", "out of range");
  mert::write_npy(dir / "s.npy", at::scalar_tensor(1.0));
  expect_mert_error([&] { mert::read_npy_index(dir / "s.npy", 0); }, "0-d array", "0-dimensional");
  EXPECT_THROW(mert::NpyStreamWriter(dir / "i.npy", {2}, at::kLong), mert::Error);
  if (oracle_python_has("numpy")) {
    const std::string check = "/usr/bin/python3 -c \"import numpy as np, sys\n"
                              "a = np.load(sys.argv[1])\n"
                              "assert a.dtype == np.float16 and a.shape == (3, 7, 5), a.dtype\n\" " +
                              (dir / "h.npy");
    EXPECT_EQ(std::system(check.c_str()), 0);
  }
}

TEST(Npy, CorruptAndUnsupportedThrow) {
  TempDir dir;
  mert::write_npy(dir / "ok.npy", at::arange(10, at::kFloat));
  const std::string b = read_bytes(dir / "ok.npy");
  for (std::size_t cut = 0; cut < b.size(); ++cut) {
    write_bytes(dir / "cut.npy", b.substr(0, cut));
    expect_mert_error([&] { mert::read_npy(dir / "cut.npy"); }, "cut at " + std::to_string(cut));
  }
  write_bytes(dir / "long.npy", b + "xxxx");
  expect_mert_error([&] { mert::read_npy(dir / "long.npy"); }, "trailing bytes");
  std::string bad = b;
  bad[1] = 'X';
  write_bytes(dir / "magic.npy", bad);
  expect_mert_error([&] { mert::read_npy(dir / "magic.npy"); }, "magic", "magic");
  bad = b;
  bad.replace(bad.find("'shape'"), 7, "'shapx'");
  write_bytes(dir / "key.npy", bad);
  expect_mert_error([&] { mert::read_npy(dir / "key.npy"); }, "bad key");
  for (std::size_t i = 10; i < 74; ++i) {  // flips anywhere in the header: error or success only
    std::string f = b;
    f[i] ^= 0x41;
    write_bytes(dir / "flip.npy", f);
    try {
      mert::read_npy(dir / "flip.npy");
    } catch (const mert::Error&) {
    } catch (const std::exception& e) {
      ADD_FAILURE() << "byte " << i << ": " << e.what();
    }
  }
  expect_mert_error([&] { mert::read_npy(dir / "missing.npy"); }, "missing");
  expect_mert_error([&] { mert::write_npy(dir / "c.npy", at::ones({2}, at::kComplexFloat)); }, "complex", "float32");
}
