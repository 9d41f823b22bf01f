// safetensors: u64 LE header length N, N bytes of JSON, then the data buffer. Reads are
// zero-copy views of a memory map; every header field is validated before a pointer is formed.
#include <ATen/ATen.h>
#include <c10/core/Allocator.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <vector>

#include "io/atomic_file.h"
#include "io/bytes.h"
#include "io/mapped_file.h"
#include "mert/error.h"
#include "io/weights.h"

namespace mert {
namespace {

using nlohmann::json;

struct DtypeInfo {
  const char* name;
  at::ScalarType type;
  std::size_t size;
};

constexpr DtypeInfo kDtypes[] = {
    {"F64", at::kDouble, 8}, {"F32", at::kFloat, 4}, {"F16", at::kHalf, 2},
    {"BF16", at::kBFloat16, 2}, {"I64", at::kLong, 8}, {"I32", at::kInt, 4},
    {"I16", at::kShort, 2}, {"I8", at::kChar, 1}, {"U8", at::kByte, 1},
    {"BOOL", at::kBool, 1},
};

const DtypeInfo* dtype_by_name(const std::string& name) {
  for (const auto& d : kDtypes)
    if (name == d.name) return &d;
  return nullptr;
}

const DtypeInfo* dtype_by_type(at::ScalarType t) {
  for (const auto& d : kDtypes)
    if (t == d.type) return &d;
  return nullptr;
}

// A header far beyond any real model's is more likely corruption than data; refusing it early
// keeps a garbage length from turning into a huge JSON parse.
constexpr std::uint64_t kMaxHeader = 100u << 20;

struct Entry {
  std::string name;
  const DtypeInfo* dtype;
  std::vector<int64_t> shape;
  std::uint64_t begin, end;
};

struct Header {
  std::vector<Entry> entries;
  std::map<std::string, std::string> metadata;
  std::uint64_t data_start;  // file offset of the data buffer
};

// Parses and validates the header of a mapped file. Offsets are checked against the buffer size.
Header parse_header(const io::MappedFile& f) {
  const std::string& path = f.path();
  auto fail = [&](const std::string& what) -> Error {
    return Error("invalid safetensors file " + path + ": " + what);
  };
  if (f.size() < 8) throw fail("file too short (" + std::to_string(f.size()) + " bytes) for the header length");
  const std::uint64_t n = io::load_u64(f.data());
  if (n > f.size() - 8)
    throw fail("header length " + std::to_string(n) + " exceeds the file size " + std::to_string(f.size()) +
               " (truncated or not a safetensors file)");
  if (n > kMaxHeader) throw fail("header length " + std::to_string(n) + " is implausibly large");
  if (n < 2) throw fail("header length " + std::to_string(n) + " is too small for a JSON object");

  const char* begin = reinterpret_cast<const char*>(f.data() + 8);
  const json j = json::parse(begin, begin + n, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw fail("header is not valid JSON");
  if (!j.is_object()) throw fail("header is not a JSON object");

  Header h;
  h.data_start = 8 + n;
  const std::uint64_t buffer_size = f.size() - h.data_start;
  for (const auto& item : j.items()) {
    // Named copies, not a structured binding: lambdas below capture them (C++17 forbids that).
    const std::string& name = item.key();
    const auto& v = item.value();
    if (name == "__metadata__") {
      if (!v.is_object()) throw fail("__metadata__ is not an object");
      for (const auto& [k, mv] : v.items()) {
        if (!mv.is_string()) throw fail("__metadata__[\"" + k + "\"] is not a string");
        h.metadata[k] = mv.get<std::string>();
      }
      continue;
    }
    auto tfail = [&](const std::string& what) { return fail("tensor '" + name + "': " + what); };
    if (!v.is_object()) throw tfail("entry is not an object");
    if (!v.contains("dtype") || !v["dtype"].is_string()) throw tfail("missing or non-string dtype");
    if (!v.contains("shape") || !v["shape"].is_array()) throw tfail("missing or non-array shape");
    if (!v.contains("data_offsets") || !v["data_offsets"].is_array() || v["data_offsets"].size() != 2)
      throw tfail("data_offsets must be an array of two integers");
    Entry e;
    e.name = name;
    const std::string dt = v["dtype"].get<std::string>();
    e.dtype = dtype_by_name(dt);
    if (!e.dtype) throw tfail("unsupported dtype '" + dt + "'");
    std::uint64_t numel = 1;
    bool overflow = false;
    for (const auto& d : v["shape"]) {
      if (!d.is_number_unsigned()) throw tfail("shape entries must be non-negative integers");
      const std::uint64_t dim = d.get<std::uint64_t>();
      if (dim > static_cast<std::uint64_t>(INT64_MAX)) throw tfail("dimension too large");
      e.shape.push_back(static_cast<int64_t>(dim));
      if (dim != 0 && numel > UINT64_MAX / dim) overflow = true;
      numel *= dim;
    }
    for (const auto& o : v["data_offsets"])
      if (!o.is_number_unsigned()) throw tfail("data_offsets must be non-negative integers");
    e.begin = v["data_offsets"][0].get<std::uint64_t>();
    e.end = v["data_offsets"][1].get<std::uint64_t>();
    if (e.begin > e.end) throw tfail("data_offsets begin > end");
    if (e.end > buffer_size)
      throw tfail("data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                  ") out of range of the " + std::to_string(buffer_size) + "-byte data buffer (truncated file?)");
    // A zero dimension makes the tensor empty even if the other dimensions overflowed.
    const bool zero = std::find(e.shape.begin(), e.shape.end(), 0) != e.shape.end();
    if (!zero && (overflow || numel > UINT64_MAX / e.dtype->size))
      throw tfail("shape is too large");
    const std::uint64_t expect = zero ? 0 : numel * e.dtype->size;
    if (e.end - e.begin != expect)
      throw tfail("data_offsets span " + std::to_string(e.end - e.begin) + " bytes but shape x " + dt +
                  " needs " + std::to_string(expect));
    h.entries.push_back(std::move(e));
  }

  // Overlapping tensors would alias each other's bytes: refuse (the format forbids it).
  std::vector<const Entry*> by_offset;
  for (const auto& e : h.entries)
    if (e.end > e.begin) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const Entry* a, const Entry* b) { return a->begin < b->begin; });
  for (std::size_t i = 1; i < by_offset.size(); ++i)
    if (by_offset[i]->begin < by_offset[i - 1]->end)
      throw fail("tensors '" + by_offset[i - 1]->name + "' and '" + by_offset[i]->name + "' overlap");
  return h;
}

}  // namespace

TensorMap read_safetensors(const std::string& path) {
  const auto file = io::MappedFile::open(path);
  const Header h = parse_header(*file);
  TensorMap out;
  for (const auto& e : h.entries) {
    const std::uint8_t* p = file->data() + h.data_start + e.begin;
    if (e.dtype->type == at::kBool)  // any byte but 0/1 is an invalid bool for torch kernels
      for (std::uint64_t k = 0; k < e.end - e.begin; ++k)
        if (p[k] > 1) throw Error("invalid safetensors file " + path + ": tensor '" + e.name + "' holds an invalid bool byte");
    const auto opts = at::TensorOptions().dtype(e.dtype->type);
    at::Tensor t;
    if (reinterpret_cast<std::uintptr_t>(p) % e.dtype->size == 0) {
      // The deleter owns a reference to the mapping: the tensor keeps the file mapped.
      t = at::from_blob(const_cast<std::uint8_t*>(p), e.shape, [file](void*) {}, opts);
    } else {
      // Misaligned data (a header length that is not a multiple of 8): typed loads would be
      // undefined behaviour, so copy into an aligned, owned tensor.
      t = at::empty(e.shape, opts);
      if (e.end > e.begin) std::memcpy(t.data_ptr(), p, e.end - e.begin);
    }
    out.emplace(e.name, std::move(t));
  }
  return out;
}

std::map<std::string, std::string> read_safetensors_metadata(const std::string& path) {
  const auto file = io::MappedFile::open(path);
  return parse_header(*file).metadata;
}

void write_safetensors(const std::string& path, const TensorMap& tensors,
                       const std::map<std::string, std::string>& metadata) {
  // Data is laid out by element size (largest first), then name, like the reference
  // implementation: every tensor's bytes then start at a multiple of its element size, so
  // readers can map them zero-copy. The header's keys are sorted by name.
  struct Item {
    const std::string* name;
    const DtypeInfo* dtype;
    at::Tensor tensor;
  };
  std::vector<Item> items;
  for (const auto& [name, tensor] : tensors) {
    if (name == "__metadata__") throw Error("cannot write " + path + ": tensor name '__metadata__' is reserved");
    if (!tensor.defined()) throw Error("cannot write " + path + ": tensor '" + name + "' is undefined");
    const DtypeInfo* d = dtype_by_type(tensor.scalar_type());
    if (!d)
      throw Error("cannot write " + path + ": tensor '" + name + "' has unsupported dtype " +
                  std::string(c10::toString(tensor.scalar_type())));
    items.push_back({&name, d, tensor.to(at::kCPU).contiguous()});
  }
  std::stable_sort(items.begin(), items.end(),
                   [](const Item& a, const Item& b) { return a.dtype->size > b.dtype->size; });
  json header = json::object();
  std::uint64_t offset = 0;
  for (const auto& it : items) {
    const std::uint64_t nbytes = static_cast<std::uint64_t>(it.tensor.numel()) * it.dtype->size;
    header[*it.name] = {{"dtype", it.dtype->name}, {"shape", it.tensor.sizes().vec()},
                        {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;

  std::string h = header.dump();
  // Pad with spaces (valid JSON whitespace) so the data buffer starts 8-byte aligned.
  h.append((8 - h.size() % 8) % 8, ' ');
  const std::uint64_t n = h.size();

  io::write_file_atomic(path, [&](std::FILE* f) {
    io::write_all(f, &n, 8, path);
    io::write_all(f, h.data(), h.size(), path);
    for (const auto& it : items)
      io::write_all(f, it.tensor.data_ptr(), static_cast<std::size_t>(it.tensor.numel()) * it.dtype->size, path);
  });
}

}  // namespace mert
