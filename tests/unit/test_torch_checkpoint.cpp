// torch.save checkpoints, generated at test time by Debian's python/torch (no committed
// binaries): dtypes, views sharing storage, Parameters, protocol 4, archives rewritten without
// alignment; and legacy / compressed / truncated / corrupted / non-state-dict files -> mert::Error.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include "mert/error.h"
#include "io/npy.h"
#include "io/weights.h"

namespace fs = std::filesystem;

#include "test_util.h"

using namespace mert_test;

namespace {

// Writes every fixture into argv[1]. expect/<key>.npy hold float64 copies of the values (exact
// for every dtype used), meta.txt the dtype, strides and storage offset Python sees.
constexpr const char* kFixtureScript = R"PY(
import collections, os, sys, zipfile
import numpy as np
import torch

out = sys.argv[1]
os.makedirs(out + '/expect', exist_ok=True)
torch.manual_seed(0)
m = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.LayerNorm(3))
sd = m.state_dict()
assert hasattr(sd, '_metadata')
base = torch.arange(24, dtype=torch.float32).reshape(4, 6) * 0.5 - 3
sd['view.transposed'] = base.t()
sd['view.slice'] = base[1:3, 2:5]
sd['half'] = torch.randn(3, 5).half()
sd['bf16'] = torch.randn(2, 3).to(torch.bfloat16)
sd['f64'] = torch.randn(4, dtype=torch.float64)
sd['i64'] = torch.tensor([1, -2, 3, 2 ** 40])
sd['i32'] = torch.tensor([7, -8], dtype=torch.int32)
sd['i16'] = torch.tensor([300, -300], dtype=torch.int16)
sd['i8'] = torch.tensor([-5, 5], dtype=torch.int8)
sd['u8'] = torch.tensor([0, 255], dtype=torch.uint8)
sd['b'] = torch.tensor([True, False, True])
sd['scalar'] = torch.tensor(2.5)
sd['empty'] = torch.zeros(0, 4)
sd['param'] = torch.nn.Parameter(torch.randn(2, 2))
torch.save(sd, out + '/model.bin')
torch.save(sd, out + '/proto4.bin', pickle_protocol=4)
torch.save(sd, out + '/legacy.bin', _use_new_zipfile_serialization=False)
with open(out + '/meta.txt', 'w') as f:
    for k, v in sd.items():
        np.save(out + '/expect/' + k + '.npy', v.detach().double().contiguous().numpy())
        f.write('%s %s %s %d\n' % (k, str(v.dtype).replace('torch.', ''),
                                   ','.join(map(str, v.stride())) or '-', v.storage_offset()))

# Re-zipped by Python's zipfile: stored, but entries no longer 64-byte aligned; and deflated.
def rezip(src, dst, method):
    misaligned = 0
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, 'w', method) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info.filename))
    with zipfile.ZipFile(dst) as z:
        for info in z.infolist():
            start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
            misaligned += '/data/' in info.filename and start % 8 != 0
    return misaligned
with open(out + '/misaligned.txt', 'w') as f:
    f.write(str(rezip(out + '/model.bin', out + '/unaligned.bin', zipfile.ZIP_STORED)))
rezip(out + '/model.bin', out + '/deflated.bin', zipfile.ZIP_DEFLATED)

bad = collections.OrderedDict(w=torch.ones(2))
bad['not_a_tensor'] = 3
torch.save(bad, out + '/int_value.bin')
torch.save({'state_dict': sd}, out + '/nested.bin')
sets = collections.OrderedDict(w=torch.ones(2))
sets['sets'] = ({1, 2}, frozenset([3]))  # EMPTY_SET/ADDITEMS/FROZENSET under protocol 4
torch.save(sets, out + '/sets.bin', pickle_protocol=4)
torch.save([torch.ones(1)], out + '/list.bin')

# Hand-written pickles in a torch-like archive: hostile or odd inputs for the interpreter.
def crafted(name, pkl, byteorder=b'little'):
    with zipfile.ZipFile(out + '/' + name, 'w') as z:
        z.writestr('archive/data.pkl', pkl)
        z.writestr('archive/byteorder', byteorder)
crafted('empty_dict.bin', b'\x80\x02}.')
crafted('big_endian.bin', b'\x80\x02}.', b'big')
crafted('unknown_op.bin', b'\x80\x02}\xff.')
crafted('deep_tuple.bin', b'\x80\x02)' + b'\x85' * 1000000 + b'.')
crafted('deep_lists.bin', b'\x80\x02' + b'(' * 300000 + b'l' * 300000 + b'.')
cmd = ('touch ' + out + '/pwned').encode()
crafted('exec.bin', b'\x80\x02cos\nsystem\nX' + len(cmd).to_bytes(4, 'little') + cmd + b'\x85R.')
crafted('exec_value.bin', b'\x80\x02}X\x01\x00\x00\x00kcos\nsystem\nX' + len(cmd).to_bytes(4, 'little') + cmd
        + b'\x85Rs.')
)PY";

class TorchCheckpoint : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (std::system("/usr/bin/python3 -c 'import torch, numpy' >/dev/null 2>&1") != 0) {
      skip_reason_ = new std::string("/usr/bin/python3 with torch and numpy is not available");
      return;
    }
    std::string tmpl = (fs::temp_directory_path() / "mert_ckpt_XXXXXX").string();
    dir_ = new std::string(::mkdtemp(tmpl.data()));
    write_bytes(*dir_ + "/make.py", kFixtureScript);
    const std::string cmd = "/usr/bin/python3 " + *dir_ + "/make.py " + *dir_ + " >" + *dir_ + "/make.log 2>&1";
    if (std::system(cmd.c_str()) != 0) fixture_error_ = new std::string(read_bytes(*dir_ + "/make.log"));
  }
  static void TearDownTestSuite() {
    if (dir_) fs::remove_all(*dir_);
    delete dir_;
    delete skip_reason_;
    delete fixture_error_;
    dir_ = skip_reason_ = fixture_error_ = nullptr;
  }
  void SetUp() override {
    if (skip_reason_) GTEST_SKIP() << *skip_reason_;
    ASSERT_EQ(fixture_error_, nullptr) << "fixture script failed:\n" << *fixture_error_;
  }
  static std::string path(const std::string& name) { return *dir_ + "/" + name; }

  // Every tensor matches Python's values, dtype, strides and storage offset.
  static void expect_matches_python(const mert::TensorMap& sd) {
    std::ifstream meta(path("meta.txt"));
    std::string line;
    std::size_t n = 0;
    while (std::getline(meta, line)) {
      std::istringstream ss(line);
      std::string key, dtype, strides;
      int64_t offset;
      ss >> key >> dtype >> strides >> offset;
      ++n;
      ASSERT_TRUE(sd.count(key)) << key;
      const at::Tensor& t = sd.at(key);
      const std::string got_dtype = c10::toString(t.scalar_type());
      const std::map<std::string, std::string> names{
          {"float32", "Float"}, {"float16", "Half"}, {"bfloat16", "BFloat16"}, {"float64", "Double"},
          {"int64", "Long"}, {"int32", "Int"}, {"int16", "Short"}, {"int8", "Char"}, {"uint8", "Byte"}, {"bool", "Bool"}};
      EXPECT_EQ(got_dtype, names.at(dtype)) << key;
      std::string got_strides;
      for (auto s : t.strides()) got_strides += (got_strides.empty() ? "" : ",") + std::to_string(s);
      if (t.numel() > 0) {
        EXPECT_EQ(got_strides.empty() ? "-" : got_strides, strides) << key;
        EXPECT_EQ(t.storage_offset(), offset) << key;
      }
      const at::Tensor expect = mert::read_npy(path("expect/" + key + ".npy"));
      EXPECT_EQ(t.sizes(), expect.sizes()) << key;
      EXPECT_TRUE(at::equal(t.to(at::kDouble), expect)) << key;
    }
    EXPECT_EQ(n, sd.size());
    EXPECT_GT(n, 10u);
  }

  static std::string* dir_;
  static std::string* skip_reason_;
  static std::string* fixture_error_;
};
std::string* TorchCheckpoint::dir_ = nullptr;
std::string* TorchCheckpoint::skip_reason_ = nullptr;
std::string* TorchCheckpoint::fixture_error_ = nullptr;

}  // namespace

TEST_F(TorchCheckpoint, StateDictMatchesPython) {
  const auto sd = mert::read_torch_checkpoint(path("model.bin"));
  expect_matches_python(sd);
  // Views that share a storage in Python share it here too (zero-copy over the mapping).
  EXPECT_TRUE(sd.at("view.transposed").is_alias_of(sd.at("view.slice")));
  EXPECT_FALSE(sd.at("view.transposed").is_contiguous());
  EXPECT_EQ(sd.at("view.slice").storage_offset(), 8);
  EXPECT_TRUE(sd.count("0.weight") && sd.count("1.bias"));
  EXPECT_EQ(sd.at("scalar").dim(), 0);
}

TEST_F(TorchCheckpoint, TensorsOutliveTheFile) {
  at::Tensor w;
  {
    const auto sd = mert::read_torch_checkpoint(path("model.bin"));
    w = sd.at("view.slice");
  }
  const at::Tensor expect = mert::read_npy(path("expect/view.slice.npy"));
  EXPECT_TRUE(at::equal(w.to(at::kDouble), expect));
  EXPECT_TRUE(at::equal(w.clone().to(at::kDouble) * 2, expect * 2));
}

TEST_F(TorchCheckpoint, Protocol4AndUnalignedArchives) {
  expect_matches_python(mert::read_torch_checkpoint(path("proto4.bin")));
  EXPECT_GT(std::stoi(read_bytes(path("misaligned.txt"))), 0) << "fixture did not exercise the copy path";
  expect_matches_python(mert::read_torch_checkpoint(path("unaligned.bin")));
}

TEST_F(TorchCheckpoint, RefusesUnsupportedFiles) {
  expect_mert_error([] { mert::read_torch_checkpoint(path("legacy.bin")); }, "legacy", "legacy");
  expect_mert_error([] { mert::read_torch_checkpoint(path("deflated.bin")); }, "deflated",
                    "compressed entries not supported");
  expect_mert_error([] { mert::read_torch_checkpoint(path("int_value.bin")); }, "int value", "'not_a_tensor' is a int");
  expect_mert_error([] { mert::read_torch_checkpoint(path("nested.bin")); }, "nested", "'state_dict' is a dict");
  expect_mert_error([] { mert::read_torch_checkpoint(path("sets.bin")); }, "sets", "'sets' is a tuple");
  expect_mert_error([] { mert::read_torch_checkpoint(path("list.bin")); }, "list", "top-level object is a list");
  expect_mert_error([] { mert::read_torch_checkpoint(path("missing.bin")); }, "missing");
  expect_mert_error([] { mert::read_torch_checkpoint(path("expect/f64.npy")); }, "npy", "not a zip");
}

TEST_F(TorchCheckpoint, CraftedPicklesAreInterpretedSafely) {
  EXPECT_TRUE(mert::read_torch_checkpoint(path("empty_dict.bin")).empty());
  expect_mert_error([] { mert::read_torch_checkpoint(path("big_endian.bin")); }, "big endian", "byteorder");
  expect_mert_error([] { mert::read_torch_checkpoint(path("unknown_op.bin")); }, "opcode", "unsupported pickle opcode 0xff");
  // A million-deep tuple / 300k-deep lists: no stack overflow parsing or destroying them.
  expect_mert_error([] { mert::read_torch_checkpoint(path("deep_tuple.bin")); }, "deep tuple", "top-level object is a tuple");
  expect_mert_error([] { mert::read_torch_checkpoint(path("deep_lists.bin")); }, "deep lists", "top-level object is a list");
  // os.system is recorded as a name, never called.
  expect_mert_error([] { mert::read_torch_checkpoint(path("exec.bin")); }, "exec", "os.system");
  expect_mert_error([] { mert::read_torch_checkpoint(path("exec_value.bin")); }, "exec value", "'k' is a object (os.system");
  EXPECT_FALSE(fs::exists(path("pwned")));
}

TEST_F(TorchCheckpoint, TruncatedFilesThrow) {
  const std::string bytes = read_bytes(path("model.bin"));
  const std::string cut_path = path("cut.bin");
  std::vector<std::size_t> cuts = {0, 1, 4, 30, 100, bytes.size() / 2, bytes.size() - 23, bytes.size() - 22,
                                   bytes.size() - 1};
  for (std::size_t c = 0; c < bytes.size(); c += 97) cuts.push_back(c);
  for (std::size_t cut : cuts) {
    write_bytes(cut_path, bytes.substr(0, cut));
    expect_mert_error([&] { mert::read_torch_checkpoint(cut_path); }, "cut at " + std::to_string(cut));
  }
}

TEST_F(TorchCheckpoint, CorruptionNeverEscapesAsOtherExceptions) {
  const std::string bytes = read_bytes(path("model.bin"));
  // EOCD (no comment from torch): last 22 bytes; its central directory offset is at +16.
  std::uint32_t cd;
  std::memcpy(&cd, bytes.data() + bytes.size() - 6, 4);
  ASSERT_LT(cd, bytes.size());
  ASSERT_EQ(bytes.compare(cd, 4, std::string("PK\x01\x02", 4)), 0);
  const std::string p = path("flip.bin");
  int errors = 0;
  auto try_read = [&](const std::string& b, const std::string& what) {
    write_bytes(p, b);
    try {
      for (const auto& [k, t] : mert::read_torch_checkpoint(p)) (void)t.to(at::kDouble).sum();
    } catch (const mert::Error&) {
      ++errors;
    } catch (const std::exception& e) {
      ADD_FAILURE() << what << ": wrong exception type: " << e.what();
    }
  };
  for (std::size_t i = cd; i < bytes.size(); ++i) {
    std::string b = bytes;
    b[i] ^= 0xFF;
    try_read(b, "central directory byte " + std::to_string(i));
  }
  EXPECT_GT(errors, 0);
  // Flip every byte of the pickle: the interpreter must fail cleanly or produce some dict.
  const std::size_t pkl = bytes.find("/data.pkl");  // in data.pkl's local header (first entry)
  ASSERT_NE(pkl, std::string::npos);
  const std::size_t start = bytes.find('\x80', pkl);  // PROTO opcode: start of the pickle data
  for (std::size_t i = start; i < start + 1200 && i < cd; ++i) {
    for (unsigned char x : {0x01, 0xFF}) {
      std::string b = bytes;
      b[i] = static_cast<char>(b[i] ^ x);
      try_read(b, "pickle byte " + std::to_string(i));
    }
  }
  // The first central signature must be detected.
  std::string b = bytes;
  b[cd] = 'X';
  write_bytes(p, b);
  expect_mert_error([&] { mert::read_torch_checkpoint(p); }, "central signature");
}
