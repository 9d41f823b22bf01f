#pragma once
// A safe interpreter for the `data.pkl` pickle inside a torch.save zip archive. It never imports
// or calls anything: GLOBAL/REDUCE are recognised by name for the handful of callables a state
// dict uses (OrderedDict, torch._utils._rebuild_tensor_v2, ...); anything else becomes an opaque
// Object value, which is only an error if the caller needs it as data.
#include <ATen/core/Tensor.h>
#include <c10/core/Storage.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "io/zip_archive.h"

namespace mert::io {

struct PickleValue;
using PickleValuePtr = std::shared_ptr<PickleValue>;

// One storage of the archive (`<prefix>/data/<key>`), shared by every tensor that views it.
struct TorchStorage {
  std::string key;
  at::ScalarType dtype;
  std::int64_t numel = 0;
  c10::Storage storage;
};

// Containers are shared by pointer because pickle's memo aliases them and later opcodes
// (APPEND, SETITEMS, BUILD) mutate the memoised object in place.
struct PickleValue {
  enum class Kind { None, Bool, Int, Float, Str, Bytes, Tuple, List, Dict, Set, Global, Storage, Tensor, Object };
  Kind kind = Kind::None;
  bool b = false;
  std::int64_t i = 0;
  double f = 0.0;
  std::string s;     // Str, Bytes; Global: module; Object: what built it
  std::string name;  // Global: qualified name
  std::vector<PickleValuePtr> items;                             // Tuple, List, Set
  std::vector<std::pair<PickleValuePtr, PickleValuePtr>> dict;  // Dict, in insertion order
  std::shared_ptr<TorchStorage> storage;                         // Storage
  at::Tensor tensor;                                             // Tensor

  PickleValue() = default;
  PickleValue(const PickleValue&) = delete;
  PickleValue& operator=(const PickleValue&) = delete;
  // Iterative: a crafted pickle can nest containers a million deep, and the default
  // recursive destruction would overflow the stack.
  ~PickleValue();

  // Short human description for error messages ("tensor", "int", "object torch.Size", ...).
  std::string describe() const;
};

// Interprets `<prefix>/data.pkl` of `zip`, resolving persistent storage ids to
// `<prefix>/data/<key>` entries (zero-copy views of the mapping when aligned).
// Throws mert::Error naming the archive, the offset and the problem.
PickleValuePtr load_torch_pickle(const ZipArchive& zip, const std::string& prefix);

}  // namespace mert::io
