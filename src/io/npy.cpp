// NPY: "\x93NUMPY", major, minor, header length (u16 for 1.x, u32 for 2.x/3.x), a Python dict
// literal {'descr': ..., 'fortran_order': ..., 'shape': (...)}, then the raw array data.
#include "io/npy.h"

#include <ATen/ATen.h>

#include <cctype>
#include <cstring>
#include <optional>
#include <vector>

#include "io/atomic_file.h"
#include "io/bytes.h"
#include "io/mapped_file.h"
#include "mert/error.h"

namespace mert {
namespace {

struct NpyType {
  const char* descr;
  at::ScalarType type;
};
// numpy's descr strings; one byte types carry '|' (no byte order).
constexpr NpyType kTypes[] = {{"<f2", at::kHalf}, {"<f4", at::kFloat}, {"<f8", at::kDouble}, {"<i8", at::kLong},
                              {"<i4", at::kInt},   {"|u1", at::kByte},   {"|b1", at::kBool}};

constexpr char kMagic[] = "\x93NUMPY";

// Parses the header dict literal. Only the value kinds numpy writes are accepted (strings,
// True/False, tuples of ints): anything else is an error rather than guessed at.
struct HeaderParser {
  const std::string& s;
  std::size_t i = 0;
  const std::string& path;

  [[noreturn]] void fail(const std::string& what) const {
    throw Error("invalid .npy file " + path + ": header " + what + " (header: " + s + ")");
  }
  void ws() {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  }
  bool eat(char c) {
    ws();
    if (i < s.size() && s[i] == c) {
      ++i;
      return true;
    }
    return false;
  }
  std::string str() {
    ws();
    if (i >= s.size() || (s[i] != '\'' && s[i] != '"')) fail("expected a string");
    const char q = s[i++];
    const auto e = s.find(q, i);
    if (e == std::string::npos) fail("unterminated string");
    std::string r = s.substr(i, e - i);
    i = e + 1;
    return r;
  }
  bool boolean() {
    ws();
    if (s.compare(i, 4, "True") == 0) { i += 4; return true; }
    if (s.compare(i, 5, "False") == 0) { i += 5; return false; }
    fail("expected True or False");
  }
  std::vector<int64_t> shape() {
    if (!eat('(')) fail("expected a shape tuple");
    std::vector<int64_t> dims;
    while (!eat(')')) {
      ws();
      if (i >= s.size() || !std::isdigit(static_cast<unsigned char>(s[i]))) fail("expected a non-negative dimension");
      int64_t d = 0;
      while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
        if (d > (INT64_MAX - 9) / 10) fail("dimension too large");
        d = d * 10 + (s[i++] - '0');
      }
      // numpy writes "3L" for longs under Python 2
      if (i < s.size() && s[i] == 'L') ++i;
      dims.push_back(d);
      if (!eat(',')) {
        if (!eat(')')) fail("expected ',' or ')' in shape");
        break;
      }
    }
    return dims;
  }
};

}  // namespace

std::string npy_header_bytes(at::ScalarType type, at::IntArrayRef sizes, const std::string& path) {
  const char* descr = nullptr;
  for (const auto& t : kTypes)
    if (t.type == type) descr = t.descr;
  if (!descr)
    throw Error("cannot write " + path + ": .npy writer supports float16/float32/float64/int64/int32/uint8/bool, got " +
                std::string(c10::toString(type)));
  const int64_t dim = static_cast<int64_t>(sizes.size());
  std::string shape = "(";
  for (int64_t k = 0; k < dim; ++k) shape += std::to_string(sizes[k]) + (dim == 1 ? ",)" : k + 1 < dim ? ", " : ")");
  if (dim == 0) shape += ")";
  std::string header = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Pad with spaces so magic(6) + version(2) + length(2) + header, ending in '\n', is a
  // multiple of 64 (numpy's own alignment, lets readers mmap the data aligned).
  const std::size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  if (header.size() > 0xFFFF) throw Error("cannot write " + path + ": .npy header too long for format 1.0");
  const std::uint16_t hlen = static_cast<std::uint16_t>(header.size());
  std::string out(kMagic, 6);
  out += static_cast<char>(1);
  out += static_cast<char>(0);
  out += static_cast<char>(hlen & 0xFF);
  out += static_cast<char>(hlen >> 8);
  return out + header;
}

void write_npy(const std::string& path, const at::Tensor& tensor) {
  if (!tensor.defined()) throw Error("cannot write " + path + ": undefined tensor");
  const std::string header = npy_header_bytes(tensor.scalar_type(), tensor.sizes(), path);
  const at::Tensor t = tensor.to(at::kCPU).contiguous();
  io::write_file_atomic(path, [&](std::FILE* f) {
    io::write_all(f, header.data(), header.size(), path);
    io::write_all(f, t.data_ptr(), static_cast<std::size_t>(t.numel()) * t.element_size(), path);
  });
}

namespace {

// A parsed .npy file: its dtype, shape and where the data starts; the data size is checked.
struct NpyLayout {
  const NpyType* type = nullptr;
  std::vector<int64_t> shape;
  std::uint64_t data_start = 0, numel = 0;
};

NpyLayout parse_npy(const io::MappedFile& file, const std::string& path) {
  auto fail = [&](const std::string& what) { return Error("invalid .npy file " + path + ": " + what); };
  const std::uint8_t* d = file.data();
  const std::size_t size = file.size();
  if (size < 10 || std::memcmp(d, kMagic, 6) != 0) throw fail("missing \\x93NUMPY magic");
  const int major = d[6];
  std::uint64_t hlen, hstart;
  if (major == 1) {
    hlen = io::load_u16(d + 8);
    hstart = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12) throw fail("truncated header");
    hlen = io::load_u32(d + 8);
    hstart = 12;
  } else {
    throw fail("unsupported format version " + std::to_string(major) + "." + std::to_string(d[7]));
  }
  if (hlen > size - hstart) throw fail("header length " + std::to_string(hlen) + " exceeds the file (truncated?)");
  const std::string header(reinterpret_cast<const char*>(d + hstart), hlen);

  HeaderParser p{header, 0, path};
  std::optional<std::string> descr;
  std::optional<bool> fortran;
  std::optional<std::vector<int64_t>> shape;
  if (!p.eat('{')) p.fail("is not a dict");
  while (!p.eat('}')) {
    const std::string key = p.str();
    if (!p.eat(':')) p.fail("expected ':'");
    if (key == "descr") descr = p.str();
    else if (key == "fortran_order") fortran = p.boolean();
    else if (key == "shape") shape = p.shape();
    else p.fail("has unexpected key '" + key + "'");
    if (!p.eat(',')) {
      if (!p.eat('}')) p.fail("expected ',' or '}'");
      break;
    }
  }
  if (!descr || !fortran || !shape) p.fail("lacks descr, fortran_order or shape");
  if (*fortran) throw fail("fortran_order arrays are not supported (save with np.ascontiguousarray)");
  const NpyType* type = nullptr;
  for (const auto& t : kTypes)
    if (*descr == t.descr) type = &t;
  if (!type) throw fail("unsupported dtype '" + *descr + "' (supported: <f2, <f4, <f8, <i8, <i4, |u1, |b1)");

  const std::size_t elem = c10::elementSize(type->type);
  std::uint64_t numel = 1;
  for (auto dim : *shape) {
    if (dim != 0 && numel > UINT64_MAX / elem / static_cast<std::uint64_t>(dim)) throw fail("shape too large");
    numel *= static_cast<std::uint64_t>(dim);
  }
  const std::uint64_t data_start = hstart + hlen;
  const std::uint64_t have = size - data_start;
  if (have != numel * elem)
    throw fail("data is " + std::to_string(have) + " bytes, shape x " + *descr + " needs " + std::to_string(numel * elem) +
               (have < numel * elem ? " (truncated?)" : ""));
  return NpyLayout{type, *shape, data_start, numel};
}

// An owned tensor of `shape` from `numel` elements at byte `offset` of the file.
at::Tensor copy_out(const io::MappedFile& file, const NpyLayout& l, at::IntArrayRef shape, std::uint64_t offset,
                    std::uint64_t numel) {
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(l.type->type));
  const std::size_t elem = c10::elementSize(l.type->type);
  if (numel) std::memcpy(t.data_ptr(), file.data() + offset, numel * elem);
  if (l.type->type == at::kBool) {  // numpy reads any non-zero byte as True; a torch bool must be 0/1
    auto* b = static_cast<std::uint8_t*>(t.data_ptr());
    for (std::uint64_t k = 0; k < numel; ++k) b[k] = b[k] != 0;
  }
  return t;
}

}  // namespace

at::Tensor read_npy(const std::string& path) {
  const auto file = io::MappedFile::open(path);
  const NpyLayout l = parse_npy(*file, path);
  return copy_out(*file, l, l.shape, l.data_start, l.numel);
}

std::vector<int64_t> read_npy_shape(const std::string& path) {
  const auto file = io::MappedFile::open(path);
  return parse_npy(*file, path).shape;
}

at::Tensor read_npy_index(const std::string& path, int64_t index) {
  const auto file = io::MappedFile::open(path);
  const NpyLayout l = parse_npy(*file, path);
  if (l.shape.empty()) throw Error("invalid .npy file " + path + ": a 0-dimensional array has no first axis");
  if (index < 0 || index >= l.shape[0])
    throw Error(path + ": index " + std::to_string(index) + " out of range (first axis has " + std::to_string(l.shape[0]) + ")");
  const std::vector<int64_t> sub(l.shape.begin() + 1, l.shape.end());
  const std::uint64_t per = l.shape[0] ? l.numel / static_cast<std::uint64_t>(l.shape[0]) : 0;
  return copy_out(*file, l, sub, l.data_start + static_cast<std::uint64_t>(index) * per * c10::elementSize(l.type->type), per);
}

}  // namespace mert
