#include "io/pickle.h"

#include <ATen/ATen.h>
#include <c10/core/Allocator.h>

#include <cstdlib>
#include <cstring>
#include <unordered_map>

#include "io/bytes.h"
#include "mert/error.h"

namespace mert::io {

using Kind = PickleValue::Kind;

PickleValue::~PickleValue() {
  std::vector<PickleValuePtr> work;
  auto detach_children = [&work](PickleValue& v) {
    for (auto& c : v.items) work.push_back(std::move(c));
    for (auto& [k, x] : v.dict) {
      work.push_back(std::move(k));
      work.push_back(std::move(x));
    }
    v.items.clear();
    v.dict.clear();
  };
  detach_children(*this);
  while (!work.empty()) {
    PickleValuePtr p = std::move(work.back());
    work.pop_back();
    // Last owner: empty it first, so its own destructor (at the end of this iteration) is flat.
    if (p && p.use_count() == 1) detach_children(*p);
  }
}

std::string PickleValue::describe() const {
  switch (kind) {
    case Kind::None: return "None";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::Str: return "str";
    case Kind::Bytes: return "bytes";
    case Kind::Tuple: return "tuple";
    case Kind::List: return "list";
    case Kind::Dict: return "dict";
    case Kind::Set: return "set";
    case Kind::Global: return "global " + s + "." + name;
    case Kind::Storage: return "storage";
    case Kind::Tensor: return "tensor";
    case Kind::Object: return "object (" + s + ")";
  }
  return "?";
}

namespace {

PickleValuePtr make(Kind k) {
  auto v = std::make_shared<PickleValue>();
  v->kind = k;
  return v;
}

struct StorageType {
  const char* name;
  at::ScalarType dtype;
};
constexpr StorageType kStorageTypes[] = {
    {"DoubleStorage", at::kDouble}, {"FloatStorage", at::kFloat}, {"HalfStorage", at::kHalf},
    {"BFloat16Storage", at::kBFloat16}, {"LongStorage", at::kLong}, {"IntStorage", at::kInt},
    {"ShortStorage", at::kShort}, {"CharStorage", at::kChar}, {"ByteStorage", at::kByte},
    {"BoolStorage", at::kBool},
};

class Unpickler {
 public:
  Unpickler(const ZipArchive& zip, std::string prefix, ByteView pkl)
      : zip_(zip), prefix_(std::move(prefix)), begin_(pkl.data), p_(pkl.data), end_(pkl.data + pkl.size) {}

  PickleValuePtr run();

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error("cannot read torch checkpoint " + zip_.path() + ": " + prefix_ + "/data.pkl at offset " +
                std::to_string(op_offset_) + ": " + what);
  }

  const std::uint8_t* take(std::uint64_t n) {
    if (static_cast<std::uint64_t>(end_ - p_) < n) fail("pickle truncated");
    const std::uint8_t* r = p_;
    p_ += n;
    return r;
  }
  std::uint8_t u8() { return *take(1); }
  std::string bytes(std::uint64_t n) {
    const std::uint8_t* b = take(n);
    return std::string(reinterpret_cast<const char*>(b), n);
  }
  std::string line() {
    const void* nl = std::memchr(p_, '\n', end_ - p_);
    if (!nl) fail("pickle truncated in a GLOBAL name");
    const auto* e = static_cast<const std::uint8_t*>(nl);
    std::string s(reinterpret_cast<const char*>(p_), e - p_);
    p_ = e + 1;
    return s;
  }

  void push(PickleValuePtr v) { stack_.push_back(std::move(v)); }
  PickleValuePtr pop() {
    if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) fail("stack underflow");
    auto v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  PickleValuePtr& top() {
    if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) fail("stack underflow");
    return stack_.back();
  }
  std::vector<PickleValuePtr> pop_mark() {
    if (marks_.empty()) fail("no MARK on the stack");
    const std::size_t m = marks_.back();
    marks_.pop_back();
    std::vector<PickleValuePtr> items(std::make_move_iterator(stack_.begin() + m),
                                      std::make_move_iterator(stack_.end()));
    stack_.resize(m);
    return items;
  }
  void memo_put(std::uint64_t idx) { memo_[idx] = top(); }
  PickleValuePtr memo_get(std::uint64_t idx) {
    const auto it = memo_.find(idx);
    if (it == memo_.end()) fail("memo key " + std::to_string(idx) + " not defined");
    return it->second;
  }

  PickleValuePtr sequence(Kind k, std::vector<PickleValuePtr> items) {
    auto v = make(k);
    v->items = std::move(items);
    return v;
  }
  PickleValuePtr int_value(std::int64_t i) {
    auto v = make(Kind::Int);
    v->i = i;
    return v;
  }
  PickleValuePtr str_value(Kind k, std::string s) {
    auto v = make(k);
    v->s = std::move(s);
    return v;
  }
  PickleValuePtr object(std::string what) { return str_value(Kind::Object, std::move(what)); }

  PickleValuePtr long_value(std::uint64_t n);
  void set_items(const std::vector<PickleValuePtr>& kv);
  void append_items(std::vector<PickleValuePtr> items);
  PickleValuePtr reduce(const PickleValuePtr& callable, const PickleValuePtr& args, int depth = 0);
  PickleValuePtr rebuild_tensor(const std::vector<PickleValuePtr>& a);
  PickleValuePtr persistent_load(const PickleValuePtr& pid);

  const ZipArchive& zip_;
  std::string prefix_;
  const std::uint8_t* begin_;
  const std::uint8_t* p_;
  const std::uint8_t* end_;
  std::size_t op_offset_ = 0;
  std::vector<PickleValuePtr> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint64_t, PickleValuePtr> memo_;
  std::unordered_map<std::string, std::shared_ptr<TorchStorage>> storages_;
};

// LONG1/LONG4: little-endian two's complement. Ints beyond int64 cannot be a tensor size or
// offset, so they become opaque values (an error only if actually used).
PickleValuePtr Unpickler::long_value(std::uint64_t n) {
  const std::uint8_t* b = take(n);
  if (n == 0) return int_value(0);
  if (n > 8) {
    // Still fits if the extra high bytes are pure sign extension.
    const std::uint8_t ext = (b[7] & 0x80) ? 0xFF : 0x00;
    for (std::uint64_t k = 8; k < n; ++k)
      if (b[k] != ext) return object("int too large for int64");
    n = 8;
  }
  std::uint64_t u = 0;
  for (std::uint64_t k = 0; k < n; ++k) u |= static_cast<std::uint64_t>(b[k]) << (8 * k);
  if (n < 8 && (b[n - 1] & 0x80)) u |= ~std::uint64_t{0} << (8 * n);  // sign-extend
  return int_value(static_cast<std::int64_t>(u));
}

void Unpickler::set_items(const std::vector<PickleValuePtr>& kv) {
  if (kv.size() % 2 != 0) fail("SETITEMS with an odd number of items");
  PickleValuePtr& target = top();
  if (target->kind == Kind::Object) return;  // attributes of an opaque object: irrelevant
  if (target->kind != Kind::Dict) fail("SETITEM on a " + target->describe());
  // Duplicate keys are kept (a state dict never has them; the caller reports them).
  for (std::size_t k = 0; k < kv.size(); k += 2) target->dict.emplace_back(kv[k], kv[k + 1]);
}

void Unpickler::append_items(std::vector<PickleValuePtr> items) {
  PickleValuePtr& target = top();
  if (target->kind == Kind::Object) return;
  if (target->kind != Kind::List) fail("APPEND on a " + target->describe());
  for (auto& v : items) target->items.push_back(std::move(v));
}

PickleValuePtr Unpickler::persistent_load(const PickleValuePtr& pid) {
  if (pid->kind != Kind::Tuple || pid->items.size() != 5 || pid->items[0]->kind != Kind::Str ||
      pid->items[0]->s != "storage")
    fail("unsupported persistent id (expected ('storage', type, key, location, numel))");
  const auto& type = pid->items[1];
  const auto& key = pid->items[2];
  const auto& numel = pid->items[4];
  if (type->kind != Kind::Global || type->s != "torch") fail("persistent id storage type is not a torch global");
  if (key->kind != Kind::Str) fail("persistent id key is not a string");
  if (numel->kind != Kind::Int || numel->i < 0) fail("persistent id numel is not a non-negative int");
  const StorageType* st = nullptr;
  for (const auto& t : kStorageTypes)
    if (type->name == t.name) st = &t;
  if (!st) fail("unsupported storage type torch." + type->name);

  auto& slot = storages_[key->s];
  if (slot) {
    if (slot->dtype != st->dtype || slot->numel != numel->i) fail("storage '" + key->s + "' used with conflicting types");
  } else {
    const std::string entry = prefix_ + "/data/" + key->s;
    const ZipEntry* z = zip_.find(entry);
    if (!z) fail("storage entry '" + entry + "' missing from the archive");
    const ByteView bytes = zip_.data(*z);
    const std::size_t elem = c10::elementSize(st->dtype);
    if (static_cast<std::uint64_t>(numel->i) > SIZE_MAX / elem || bytes.size != numel->i * elem)
      fail("storage '" + entry + "' holds " + std::to_string(bytes.size) + " bytes, expected " +
           std::to_string(numel->i) + " x " + std::to_string(elem));
    if (st->dtype == at::kBool)  // any byte but 0/1 is an invalid bool for torch kernels
      for (std::size_t k = 0; k < bytes.size; ++k)
        if (bytes.data[k] > 1) fail("storage '" + entry + "' holds an invalid bool byte");
    auto s = std::make_shared<TorchStorage>();
    s->key = key->s;
    s->dtype = st->dtype;
    s->numel = numel->i;
    void* ptr;
    std::shared_ptr<const void> owner;
    if (reinterpret_cast<std::uintptr_t>(bytes.data) % elem == 0) {
      ptr = const_cast<std::uint8_t*>(bytes.data);
      owner = zip_.file();  // keeps the mapping alive as long as the storage
    } else {
      // torch aligns entries to 64 bytes, but an archive rewritten by another tool may not be;
      // typed access to misaligned data is undefined, so copy into malloc'd (aligned) memory.
      ptr = std::malloc(bytes.size ? bytes.size : 1);
      if (!ptr) fail("out of memory copying storage '" + entry + "'");
      std::memcpy(ptr, bytes.data, bytes.size);
      owner = std::shared_ptr<void>(ptr, std::free);
    }
    auto data_ptr = c10::InefficientStdFunctionContext::makeDataPtr(
        ptr, [owner](void*) {}, c10::Device(c10::kCPU));
    s->storage = c10::Storage(c10::Storage::use_byte_size_t(), bytes.size, std::move(data_ptr),
                              /*allocator=*/nullptr, /*resizable=*/false);
    slot = std::move(s);
  }
  auto v = make(Kind::Storage);
  v->storage = slot;
  return v;
}

// _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, hooks[, metadata])
// and _rebuild_tensor(storage, storage_offset, size, stride). requires_grad/hooks are
// irrelevant for inference weights.
PickleValuePtr Unpickler::rebuild_tensor(const std::vector<PickleValuePtr>& a) {
  if (a.size() < 4) fail("_rebuild_tensor with too few arguments");
  if (a[0]->kind != Kind::Storage) fail("_rebuild_tensor argument 0 is a " + a[0]->describe() + ", not a storage");
  const TorchStorage& st = *a[0]->storage;
  if (a[1]->kind != Kind::Int || a[1]->i < 0) fail("_rebuild_tensor storage offset is not a non-negative int");
  auto ints = [&](const PickleValuePtr& t, const char* what) {
    if (t->kind != Kind::Tuple) fail(std::string("_rebuild_tensor ") + what + " is not a tuple");
    std::vector<std::int64_t> r;
    for (const auto& x : t->items) {
      if (x->kind != Kind::Int || x->i < 0) fail(std::string("_rebuild_tensor ") + what + " has a non-int or negative entry");
      r.push_back(x->i);
    }
    return r;
  };
  const std::int64_t offset = a[1]->i;
  const auto size = ints(a[2], "size");
  const auto stride = ints(a[3], "stride");
  if (size.size() != stride.size()) fail("_rebuild_tensor size and stride have different lengths");

  // Bounds: the furthest element must lie inside the storage (computed with overflow checks).
  bool empty = false;
  for (auto d : size) empty |= d == 0;
  const auto opts = at::TensorOptions().dtype(st.dtype);
  auto v = make(Kind::Tensor);
  if (empty) {
    v->tensor = at::empty(size, opts);  // no bytes to view; offset/strides are irrelevant
    return v;
  }
  unsigned __int128 last = static_cast<unsigned __int128>(offset);
  for (std::size_t k = 0; k < size.size(); ++k)
    last += static_cast<unsigned __int128>(size[k] - 1) * static_cast<std::uint64_t>(stride[k]);
  if (last >= static_cast<unsigned __int128>(st.numel))
    fail("tensor view (offset " + std::to_string(offset) + ") exceeds its storage '" + st.key + "' of " +
         std::to_string(st.numel) + " elements");

  // set_ shares the storage, so views that share storage in Python share it here too.
  v->tensor = at::empty({0}, opts).set_(st.storage, offset, size, stride);
  return v;
}

PickleValuePtr Unpickler::reduce(const PickleValuePtr& callable, const PickleValuePtr& args, int depth) {
  if (args->kind != Kind::Tuple) fail("REDUCE arguments are a " + args->describe() + ", not a tuple");
  if (callable->kind != Kind::Global) return object("result of calling a " + callable->describe());
  const std::string fn = callable->s + "." + callable->name;
  const auto& a = args->items;
  if (fn == "collections.OrderedDict" && a.empty()) return make(Kind::Dict);
  if (fn == "torch._utils._rebuild_tensor_v2" || fn == "torch._utils._rebuild_tensor") return rebuild_tensor(a);
  if (fn == "torch._utils._rebuild_parameter" || fn == "torch._utils._rebuild_parameter_with_state") {
    if (a.empty() || a[0]->kind != Kind::Tensor) fail(fn + " without a tensor argument");
    return a[0];  // a Parameter is just its tensor for inference
  }
  if (fn == "torch._tensor._rebuild_from_type_v2" && a.size() >= 3 && depth < 4) {
    // Tensors carrying Python state (torch 2.x): (func, type, args, state). Rebuild via func.
    auto inner = reduce(a[0], a[2], depth + 1);  // bounded: a crafted file could nest these
    if (inner->kind == Kind::Tensor) return inner;
  }
  return object(fn + "(...)");
}

PickleValuePtr Unpickler::run() {
  while (true) {
    op_offset_ = static_cast<std::size_t>(p_ - begin_);
    if (p_ >= end_) fail("pickle ended without STOP (truncated?)");
    const std::uint8_t op = u8();
    switch (op) {
      case 0x80: {  // PROTO
        const int proto = u8();
        if (proto > 5) fail("unsupported pickle protocol " + std::to_string(proto));
        break;
      }
      case 0x95: {  // FRAME: a framing hint only; the length must still fit
        const std::uint64_t n = load_u64(take(8));
        if (n > static_cast<std::uint64_t>(end_ - p_)) fail("FRAME longer than the pickle (truncated?)");
        break;
      }
      case '.': {  // STOP
        if (stack_.size() != 1 || !marks_.empty()) fail("STOP with " + std::to_string(stack_.size()) + " values on the stack");
        return stack_.back();
      }
      case '(': marks_.push_back(stack_.size()); break;  // MARK
      case '0': pop(); break;                             // POP
      case '1': pop_mark(); break;                        // POP_MARK
      case '2': push(top()); break;                       // DUP
      case '}': push(make(Kind::Dict)); break;            // EMPTY_DICT
      case ']': push(make(Kind::List)); break;            // EMPTY_LIST
      case ')': push(make(Kind::Tuple)); break;           // EMPTY_TUPLE
      case 0x8f: push(make(Kind::Set)); break;            // EMPTY_SET
      case 't': push(sequence(Kind::Tuple, pop_mark())); break;  // TUPLE
      case 'l': push(sequence(Kind::List, pop_mark())); break;   // LIST
      case 0x91: push(sequence(Kind::Set, pop_mark())); break;   // FROZENSET
      case 0x85: case 0x86: case 0x87: {  // TUPLE1..3
        std::vector<PickleValuePtr> items(op - 0x84);
        for (auto it = items.rbegin(); it != items.rend(); ++it) *it = pop();
        push(sequence(Kind::Tuple, std::move(items)));
        break;
      }
      case 'q': memo_put(u8()); break;                  // BINPUT
      case 'r': memo_put(load_u32(take(4))); break;     // LONG_BINPUT
      case 0x94: memo_put(memo_.size()); break;         // MEMOIZE
      case 'h': push(memo_get(u8())); break;            // BINGET
      case 'j': push(memo_get(load_u32(take(4)))); break;  // LONG_BINGET
      case 'c': {  // GLOBAL "module\nname\n": recorded, never imported
        auto g = make(Kind::Global);
        g->s = line();
        g->name = line();
        push(g);
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        auto name = pop();
        auto module = pop();
        if (module->kind != Kind::Str || name->kind != Kind::Str) fail("STACK_GLOBAL with non-string names");
        auto g = make(Kind::Global);
        g->s = module->s;
        g->name = name->s;
        push(g);
        break;
      }
      case 'X': push(str_value(Kind::Str, bytes(load_u32(take(4))))); break;  // BINUNICODE
      case 0x8c: push(str_value(Kind::Str, bytes(u8()))); break;             // SHORT_BINUNICODE
      case 0x8d: push(str_value(Kind::Str, bytes(load_u64(take(8))))); break;  // BINUNICODE8
      case 'U': push(str_value(Kind::Str, bytes(u8()))); break;              // SHORT_BINSTRING
      case 'T': {                                                            // BINSTRING
        const auto n = static_cast<std::int32_t>(load_u32(take(4)));
        if (n < 0) fail("BINSTRING with negative length");
        push(str_value(Kind::Str, bytes(n)));
        break;
      }
      case 'C': push(str_value(Kind::Bytes, bytes(u8()))); break;               // SHORT_BINBYTES
      case 'B': push(str_value(Kind::Bytes, bytes(load_u32(take(4))))); break;  // BINBYTES
      case 0x8e: push(str_value(Kind::Bytes, bytes(load_u64(take(8))))); break;  // BINBYTES8
      case 'J': push(int_value(static_cast<std::int32_t>(load_u32(take(4))))); break;  // BININT
      case 'K': push(int_value(u8())); break;                                        // BININT1
      case 'M': push(int_value(load_u16(take(2)))); break;                           // BININT2
      case 0x8a: push(long_value(u8())); break;                                      // LONG1
      case 0x8b: {                                                                   // LONG4
        const auto n = static_cast<std::int32_t>(load_u32(take(4)));
        if (n < 0) fail("LONG4 with negative length");
        push(long_value(n));
        break;
      }
      case 'G': {  // BINFLOAT: big-endian IEEE double
        const std::uint8_t* b = take(8);
        std::uint64_t u = 0;
        for (int k = 0; k < 8; ++k) u = (u << 8) | b[k];
        auto v = make(Kind::Float);
        std::memcpy(&v->f, &u, 8);
        push(v);
        break;
      }
      case 0x88: case 0x89: {  // NEWTRUE / NEWFALSE
        auto v = make(Kind::Bool);
        v->b = op == 0x88;
        push(v);
        break;
      }
      case 'N': push(make(Kind::None)); break;
      case 'R': {  // REDUCE
        auto args = pop();
        auto callable = pop();
        push(reduce(callable, args));
        break;
      }
      case 0x81: {  // NEWOBJ: cls.__new__(cls, *args) -- never called, just recorded
        pop();
        auto cls = pop();
        push(object(cls->kind == Kind::Global ? cls->s + "." + cls->name : cls->describe()));
        break;
      }
      case 0x92: {  // NEWOBJ_EX
        pop();
        pop();
        auto cls = pop();
        push(object(cls->kind == Kind::Global ? cls->s + "." + cls->name : cls->describe()));
        break;
      }
      case 'b': {  // BUILD: __setstate__. For an OrderedDict state dict this is its attributes
                   // (`_metadata`), which we do not need; for opaque objects nothing matters.
        pop();
        const Kind k = top()->kind;
        if (k != Kind::Dict && k != Kind::Object && k != Kind::Tensor) fail("BUILD on a " + top()->describe());
        break;
      }
      case 's': {  // SETITEM
        auto value = pop();
        auto key = pop();
        set_items({key, value});
        break;
      }
      case 'u': set_items(pop_mark()); break;  // SETITEMS
      case 'a': append_items({pop()}); break;  // APPEND
      case 'e': append_items(pop_mark()); break;  // APPENDS
      case 0x90: {  // ADDITEMS
        auto items = pop_mark();
        if (top()->kind != Kind::Set) fail("ADDITEMS on a " + top()->describe());
        for (auto& v : items) top()->items.push_back(std::move(v));
        break;
      }
      case 'Q': push(persistent_load(pop())); break;  // BINPERSID
      default: {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", op);
        fail(std::string("unsupported pickle opcode ") + hex);
      }
    }
  }
}

}  // namespace

PickleValuePtr load_torch_pickle(const ZipArchive& zip, const std::string& prefix) {
  const std::string name = prefix + "/data.pkl";
  const ZipEntry* e = zip.find(name);
  if (!e) throw Error("cannot read torch checkpoint " + zip.path() + ": no entry '" + name + "'");
  Unpickler u(zip, prefix, zip.data(*e));
  return u.run();
}

}  // namespace mert::io
