#include "weights/pickle.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <unordered_map>

#include "core/errors.h"

namespace laa {
namespace pickle {

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::None: return "None";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::String: return "str";
    case Kind::Bytes: return "bytes";
    case Kind::List: return "list";
    case Kind::Tuple: return "tuple";
    case Kind::Dict: return "dict";
    case Kind::Tensor: return "tensor";
    case Kind::Storage: return "storage";
    case Kind::Global: return "global";
  }
  return "?";
}

const Value* Value::find(const std::string& key) const {
  if (kind != Kind::Dict) return nullptr;
  for (const auto& kv : entries())
    if (kv.first->kind == Kind::String && kv.first->as_string() == key) return kv.second.get();
  return nullptr;
}

// Names from the file end up in messages: keep them short and printable.
std::string printable(const std::string& s, size_t limit) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < limit; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  if (s.size() > limit) out += "...";
  return out;
}

namespace {

// What an allow-listed global may be used for.
enum class Role { OrderedDict, RebuildTensor, RebuildParameter, RebuildParameterWithState, Device, Storage };

struct Allowed {
  const char* module;
  const char* name;
  Role role;
  c10::ScalarType dtype;  // for storage types
};

constexpr c10::ScalarType kNoType = c10::ScalarType::Undefined;
const Allowed kAllowList[] = {
    {"collections", "OrderedDict", Role::OrderedDict, kNoType},
    {"torch._utils", "_rebuild_tensor_v2", Role::RebuildTensor, kNoType},
    {"torch._utils", "_rebuild_parameter", Role::RebuildParameter, kNoType},
    {"torch._utils", "_rebuild_parameter_with_state", Role::RebuildParameterWithState, kNoType},
    {"torch", "device", Role::Device, kNoType},
    {"torch", "DoubleStorage", Role::Storage, c10::ScalarType::Double},
    {"torch", "FloatStorage", Role::Storage, c10::ScalarType::Float},
    {"torch", "HalfStorage", Role::Storage, c10::ScalarType::Half},
    {"torch", "BFloat16Storage", Role::Storage, c10::ScalarType::BFloat16},
    {"torch", "LongStorage", Role::Storage, c10::ScalarType::Long},
    {"torch", "IntStorage", Role::Storage, c10::ScalarType::Int},
    {"torch", "ShortStorage", Role::Storage, c10::ScalarType::Short},
    {"torch", "CharStorage", Role::Storage, c10::ScalarType::Char},
    {"torch", "ByteStorage", Role::Storage, c10::ScalarType::Byte},
    {"torch", "BoolStorage", Role::Storage, c10::ScalarType::Bool},
};

const Allowed* find_allowed(const std::string& qualified) {
  for (const auto& a : kAllowList)
    if (qualified == std::string(a.module) + "." + a.name) return &a;
  return nullptr;
}

bool is_storage_key(const std::string& key) {
  if (key.empty() || key.size() > 64) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           c == '-' || c == '.';
  }) && key != "." && key != "..";
}

class Unpickler {
 public:
  Unpickler(const uint8_t* data, size_t size, const Limits& limits)
      : data_(data), size_(size), limits_(limits) {}

  ValuePtr run();
  size_t consumed() const { return pos_; }

 private:
  [[noreturn]] void corrupt(const std::string& what) const {
    throw Error(codes::kCorrupt,
                "invalid checkpoint pickle: " + what + " (at byte " + std::to_string(op_pos_) + ")");
  }

  // ---- input
  const uint8_t* take(uint64_t n) {
    if (n > size_ - pos_) corrupt("data ends inside an opcode argument (truncated?)");
    const uint8_t* p = data_ + pos_;
    pos_ += static_cast<size_t>(n);
    return p;
  }
  uint64_t le(size_t n) {
    const uint8_t* p = take(n);
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
    return v;
  }
  std::string text_line() {
    const size_t limit = std::min<size_t>(size_ - pos_, 256);
    const void* nl = std::memchr(data_ + pos_, '\n', limit);
    if (!nl) corrupt("GLOBAL name is not a short newline-terminated line");
    const size_t len = static_cast<const uint8_t*>(nl) - (data_ + pos_);
    std::string s(reinterpret_cast<const char*>(data_ + pos_), len);
    pos_ += len + 1;
    return s;
  }
  std::string chars(uint64_t n) {
    const uint8_t* p = take(n);
    return std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
  }

  // ---- stack and memo (MARK starts a fresh stack, as in CPython)
  size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  // Every retained reference (stack push, memo write) counts against one
  // budget, which bounds memory by the limit rather than by the input.
  void spend() {
    if (++spent_ > limits_.max_objects)
      corrupt("more than " + std::to_string(limits_.max_objects) + " objects or references");
  }
  void push(ValuePtr v) {
    spend();
    stack_.push_back(std::move(v));
  }
  ValuePtr pop() {
    if (stack_.size() <= floor()) corrupt("stack underflow");
    ValuePtr v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  const ValuePtr& top() const {
    if (stack_.size() <= floor()) corrupt("stack underflow");
    return stack_.back();
  }
  Items pop_mark() {
    if (marks_.empty()) corrupt("no MARK to pop to");
    const size_t m = marks_.back();
    marks_.pop_back();
    Items items(std::make_move_iterator(stack_.begin() + m), std::make_move_iterator(stack_.end()));
    stack_.resize(m);
    return items;
  }
  void memo_put(uint64_t index) {
    spend();
    memo_[index] = top();
  }
  void memo_get(uint64_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) corrupt("memo index " + std::to_string(index) + " was never stored");
    push(it->second);
  }

  // ---- values
  template <typename T>
  static ValuePtr make(Kind kind, T payload) {
    auto v = std::make_shared<Value>();
    v->kind = kind;
    v->data = std::move(payload);
    return v;
  }
  ValuePtr new_dict(bool ordered) {
    ValuePtr d = make(Kind::Dict, Entries{});
    d->ordered = ordered;
    return d;
  }
  // Records `child` as contained in `parent`; containers are frozen once
  // nested, so cycles cannot form and depths never change after the fact.
  void adopt(Value& parent, const ValuePtr& child) {
    if (child.get() == &parent) corrupt("a container that contains itself");
    if (parent.nested) corrupt(std::string(kind_name(parent.kind)) + " modified after it was nested");
    child->nested = true;
    const int depth = child->depth + 1;
    if (depth > limits_.max_depth)
      corrupt("containers nested deeper than " + std::to_string(limits_.max_depth));
    parent.depth = std::max<uint16_t>(parent.depth, static_cast<uint16_t>(depth));
  }
  ValuePtr new_tuple(Items items) {
    ValuePtr t = make(Kind::Tuple, Items{});
    for (const auto& item : items) adopt(*t, item);
    t->data = std::move(items);
    return t;
  }
  void append(const ValuePtr& list, ValuePtr item) {
    if (list->kind != Kind::List) corrupt(std::string("APPEND to a ") + kind_name(list->kind));
    adopt(*list, item);
    std::get<Items>(list->data).push_back(std::move(item));
  }
  void set_item(const ValuePtr& dict, ValuePtr key, ValuePtr value);
  int32_t key_id(const ValuePtr& key);

  // ---- globals and calls
  ValuePtr global(const std::string& module, const std::string& name);
  ValuePtr reduce(const Value& callable, const Value& args);
  ValuePtr rebuild_tensor(const Items& args);
  ValuePtr persistent_load(const Value& pid);

  void step(uint8_t op);

  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  size_t op_pos_ = 0;
  Limits limits_;
  std::vector<ValuePtr> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, ValuePtr> memo_;
  size_t spent_ = 0;
  bool done_ = false;
  ValuePtr result_;

  // Per-dict key positions. Holding `owner` keeps the dict alive, so its
  // address is never reused while the table refers to it.
  struct DictIndex {
    ValuePtr owner;
    std::unordered_map<int32_t, size_t> position;
  };
  std::unordered_map<const Value*, DictIndex> dict_index_;
  // Interned dict keys; each key object is interned once.
  struct KeyCache {
    ValuePtr owner;
    int32_t id;
  };
  std::unordered_map<const Value*, KeyCache> key_cache_;
  std::unordered_map<std::string, int32_t> interned_;
};

// Equal Python keys (1, 1.0, True; equal strings) share one id. Only
// scalars may be keys: enough for state_dicts and optimizer state.
int32_t Unpickler::key_id(const ValuePtr& key_ptr) {
  auto cached = key_cache_.find(key_ptr.get());
  if (cached != key_cache_.end()) return cached->second.id;
  const Value& key = *key_ptr;
  std::string canon;
  auto put_int = [&](int64_t i) {
    canon = "i";
    canon.append(reinterpret_cast<const char*>(&i), sizeof i);
  };
  switch (key.kind) {
    case Kind::None: canon = "N"; break;
    case Kind::Bool: put_int(key.as_bool() ? 1 : 0); break;
    case Kind::Int: put_int(key.as_int()); break;
    case Kind::Float: {
      const double f = key.as_float();
      // Range first: casting a double outside int64's range is undefined behaviour (found by fuzz_pickle).
      if (f > -9.2e18 && f < 9.2e18 && f == static_cast<double>(static_cast<int64_t>(f))) {
        put_int(static_cast<int64_t>(f));
      } else {
        canon = "f";
        canon.append(reinterpret_cast<const char*>(&f), sizeof f);
      }
      break;
    }
    case Kind::String: canon = "s" + key.as_string(); break;
    case Kind::Bytes: canon = "b" + key.as_string(); break;
    default: corrupt(std::string("unsupported dict key of type ") + kind_name(key.kind));
  }
  const int32_t id =
      interned_.emplace(std::move(canon), static_cast<int32_t>(interned_.size())).first->second;
  key_cache_.emplace(key_ptr.get(), KeyCache{key_ptr, id});
  return id;
}

void Unpickler::set_item(const ValuePtr& dict, ValuePtr key, ValuePtr value) {
  if (dict->kind != Kind::Dict) corrupt(std::string("SETITEM on a ") + kind_name(dict->kind));
  const int32_t id = key_id(key);
  adopt(*dict, key);
  adopt(*dict, value);
  auto& index = dict_index_[dict.get()];
  if (!index.owner) index.owner = dict;
  auto& entries = std::get<Entries>(dict->data);
  auto found = index.position.find(id);
  if (found != index.position.end()) {
    entries[found->second].second = std::move(value);  // Python keeps the first key and position
  } else {
    index.position.emplace(id, entries.size());
    entries.emplace_back(std::move(key), std::move(value));
  }
}

ValuePtr Unpickler::global(const std::string& module, const std::string& name) {
  const std::string qualified = module + "." + name;
  if (!find_allowed(qualified))
    throw Error(codes::kUnsafe, "its pickle refers to '" + printable(qualified) +
                                    "', which a plain tensor checkpoint never needs; refused "
                                    "because unpickling it could run code");
  return make(Kind::Global, qualified);
}

ValuePtr Unpickler::persistent_load(const Value& pid) {
  if (pid.kind != Kind::Tuple) corrupt("persistent id is not a tuple");
  const Items& f = pid.items();
  // The zip format's id has 5 fields; the legacy format adds view_metadata,
  // None unless the storage is a view of another (not supported).
  if ((f.size() != 5 && f.size() != 6) || !f[0]->is(Kind::String) || f[0]->as_string() != "storage")
    corrupt("persistent id is not ('storage', type, key, location, numel[, view_metadata])");
  if (f.size() == 6 && !f[5]->is(Kind::None))
    corrupt("persistent id describes a view of another storage (legacy format), which is not supported");
  const Allowed* type = f[1]->is(Kind::Global) ? find_allowed(f[1]->as_string()) : nullptr;
  if (!type || type->role != Role::Storage) corrupt("persistent id names no known storage type");
  if (!f[2]->is(Kind::String) || !is_storage_key(f[2]->as_string()))
    corrupt("persistent id has an invalid storage key");
  if (!f[3]->is(Kind::String)) corrupt("persistent id has an invalid location");
  if (!f[4]->is(Kind::Int) || f[4]->as_int() < 0 ||
      f[4]->as_int() > (int64_t{1} << 60) / static_cast<int64_t>(c10::elementSize(type->dtype)))
    corrupt("persistent id has an invalid storage size");
  auto ref = std::make_shared<TensorRef>();
  ref->dtype = type->dtype;
  ref->key = f[2]->as_string();
  ref->location = f[3]->as_string();
  ref->storage_numel = f[4]->as_int();
  return make(Kind::Storage, std::shared_ptr<const TensorRef>(std::move(ref)));
}

ValuePtr Unpickler::rebuild_tensor(const Items& a) {
  // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  if (a.size() != 6 && a.size() != 7) corrupt("_rebuild_tensor_v2 expects 6 or 7 arguments");
  if (!a[0]->is(Kind::Storage)) corrupt("_rebuild_tensor_v2 without a storage");
  if (!a[1]->is(Kind::Int) || !a[2]->is(Kind::Tuple) || !a[3]->is(Kind::Tuple) ||
      !a[4]->is(Kind::Bool) || !a[5]->is(Kind::Dict))
    corrupt("_rebuild_tensor_v2 arguments have the wrong types");
  auto ref = std::make_shared<TensorRef>(a[0]->tensor());
  ref->storage_offset = a[1]->as_int();
  ref->requires_grad = a[4]->as_bool();
  const Items& sizes = a[2]->items();
  const Items& strides = a[3]->items();
  if (sizes.size() != strides.size()) corrupt("tensor sizes and strides differ in length");
  if (static_cast<int>(sizes.size()) > limits_.max_dims) corrupt("tensor has too many dimensions");
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (!sizes[i]->is(Kind::Int) || !strides[i]->is(Kind::Int)) corrupt("tensor size or stride is not an int");
    ref->sizes.push_back(sizes[i]->as_int());
    ref->strides.push_back(strides[i]->as_int());
  }
  // The view must stay inside the storage: offset + sum((size-1)*stride) < numel.
  const int64_t numel = ref->storage_numel;
  const int64_t offset = ref->storage_offset;
  bool empty = false;
  for (size_t i = 0; i < ref->sizes.size(); ++i) {
    if (ref->sizes[i] < 0 || ref->strides[i] < 0) corrupt("negative tensor size or stride");
    if (ref->sizes[i] == 0) empty = true;
  }
  if (offset < 0 || offset > numel) corrupt("tensor storage offset outside its storage");
  if (!empty) {
    __int128 last = offset;
    for (size_t i = 0; i < ref->sizes.size(); ++i)
      last += static_cast<__int128>(ref->sizes[i] - 1) * ref->strides[i];
    if (last >= numel)
      corrupt("tensor view reaches past its storage '" + printable(ref->key) + "' of " +
              std::to_string(numel) + " elements");
  }
  return make(Kind::Tensor, std::shared_ptr<const TensorRef>(std::move(ref)));
}

ValuePtr Unpickler::reduce(const Value& callable, const Value& args) {
  if (!callable.is(Kind::Global)) corrupt(std::string("REDUCE on a ") + kind_name(callable.kind));
  if (!args.is(Kind::Tuple)) corrupt("REDUCE arguments are not a tuple");
  const Allowed* fn = find_allowed(callable.as_string());
  const Items& a = args.items();
  switch (fn->role) {
    case Role::OrderedDict: {
      ValuePtr d = new_dict(/*ordered=*/true);
      if (a.empty()) return d;
      if (a.size() != 1 || !(a[0]->is(Kind::List) || a[0]->is(Kind::Tuple)))
        corrupt("OrderedDict expects no arguments or a list of pairs");
      for (const auto& pair : a[0]->items()) {
        if (!(pair->is(Kind::Tuple) || pair->is(Kind::List)) || pair->items().size() != 2)
          corrupt("OrderedDict item is not a pair");
        set_item(d, pair->items()[0], pair->items()[1]);
      }
      return d;
    }
    case Role::RebuildTensor:
      return rebuild_tensor(a);
    case Role::RebuildParameter:
    case Role::RebuildParameterWithState: {
      // (data, requires_grad, backward_hooks[, state]): the tensor is what matters.
      const size_t n = fn->role == Role::RebuildParameter ? 3 : 4;
      if (a.size() != n || !a[0]->is(Kind::Tensor) || !a[1]->is(Kind::Bool))
        corrupt(callable.as_string() + " arguments have the wrong types");
      auto ref = std::make_shared<TensorRef>(a[0]->tensor());
      ref->requires_grad = a[1]->as_bool();
      return make(Kind::Tensor, std::shared_ptr<const TensorRef>(std::move(ref)));
    }
    case Role::Device: {
      if (a.empty() || a.size() > 2 || !a[0]->is(Kind::String) || (a.size() == 2 && !a[1]->is(Kind::Int)))
        corrupt("torch.device expects (type[, index])");
      std::string s = a[0]->as_string();
      if (a.size() == 2) s += ":" + std::to_string(a[1]->as_int());
      return make(Kind::String, std::move(s));
    }
    case Role::Storage:
      break;
  }
  corrupt(printable(callable.as_string()) + " cannot be called");
}

ValuePtr Unpickler::run() {
  while (!done_) {
    op_pos_ = pos_;
    if (pos_ >= size_) corrupt("pickle ends without STOP (truncated?)");
    step(data_[pos_++]);
  }
  return result_;
}

void Unpickler::step(uint8_t op) {
  switch (op) {
    // -- framing and control
    case 0x80: {  // PROTO
      const uint64_t proto = le(1);
      if (proto > 5) corrupt("unsupported pickle protocol " + std::to_string(proto));
      break;
    }
    case 0x95: {  // FRAME: a size hint only, but it must fit
      const uint64_t n = le(8);
      if (n > size_ - pos_) corrupt("frame runs past the end of the data");
      break;
    }
    case '.':  // STOP
      result_ = pop();
      done_ = true;
      break;
    case '(':  // MARK
      marks_.push_back(stack_.size());
      break;
    case '0':  // POP: an item, or the mark when the current stack is empty
      if (stack_.size() > floor()) {
        stack_.pop_back();
      } else {
        pop_mark();
      }
      break;
    case '1':  // POP_MARK
      pop_mark();
      break;
    case '2':  // DUP
      push(top());
      break;

    // -- scalars
    case 'N': push(make(Kind::None, std::monostate{})); break;
    case 0x88: push(make(Kind::Bool, true)); break;   // NEWTRUE
    case 0x89: push(make(Kind::Bool, false)); break;  // NEWFALSE
    case 'J': push(make(Kind::Int, static_cast<int64_t>(static_cast<int32_t>(le(4))))); break;  // BININT
    case 'K': push(make(Kind::Int, static_cast<int64_t>(le(1)))); break;  // BININT1
    case 'M': push(make(Kind::Int, static_cast<int64_t>(le(2)))); break;  // BININT2
    case 0x8a:    // LONG1
    case 0x8b: {  // LONG4
      const uint64_t n = le(op == 0x8a ? 1 : 4);
      if (n > 8) corrupt("integer wider than 64 bits");
      uint64_t v = n ? le(static_cast<size_t>(n)) : 0;
      if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t{0} << (8 * n);  // sign-extend
      push(make(Kind::Int, static_cast<int64_t>(v)));
      break;
    }
    case 'G': {  // BINFLOAT, big-endian
      const uint8_t* p = take(8);
      uint64_t bits = 0;
      for (int i = 0; i < 8; ++i) bits = (bits << 8) | p[i];
      double d;
      std::memcpy(&d, &bits, sizeof d);
      push(make(Kind::Float, d));
      break;
    }
    case 'X': push(make(Kind::String, chars(le(4)))); break;    // BINUNICODE
    case 0x8c: push(make(Kind::String, chars(le(1)))); break;   // SHORT_BINUNICODE
    case 0x8d: push(make(Kind::String, chars(le(8)))); break;   // BINUNICODE8
    case 'B': push(make(Kind::Bytes, chars(le(4)))); break;     // BINBYTES
    case 'C': push(make(Kind::Bytes, chars(le(1)))); break;     // SHORT_BINBYTES
    case 0x8e: push(make(Kind::Bytes, chars(le(8)))); break;    // BINBYTES8

    // -- containers
    case ')': push(new_tuple({})); break;  // EMPTY_TUPLE
    case 't': push(new_tuple(pop_mark())); break;  // TUPLE
    case 0x85:    // TUPLE1
    case 0x86:    // TUPLE2
    case 0x87: {  // TUPLE3
      Items items(op - 0x84);
      for (size_t i = items.size(); i-- > 0;) items[i] = pop();
      push(new_tuple(std::move(items)));
      break;
    }
    case ']': push(make(Kind::List, Items{})); break;  // EMPTY_LIST
    case 'l': {  // LIST
      Items items = pop_mark();
      ValuePtr list = make(Kind::List, Items{});
      for (auto& item : items) append(list, std::move(item));
      push(std::move(list));
      break;
    }
    case 'a': {  // APPEND
      ValuePtr item = pop();
      append(top(), std::move(item));
      break;
    }
    case 'e': {  // APPENDS
      Items items = pop_mark();
      const ValuePtr& list = top();
      for (auto& item : items) append(list, std::move(item));
      break;
    }
    case '}': push(new_dict(false)); break;  // EMPTY_DICT
    case 'd': {  // DICT
      Items items = pop_mark();
      if (items.size() % 2) corrupt("DICT with an odd number of items");
      ValuePtr dict = new_dict(false);
      for (size_t i = 0; i < items.size(); i += 2) set_item(dict, items[i], items[i + 1]);
      push(std::move(dict));
      break;
    }
    case 's': {  // SETITEM
      ValuePtr value = pop();
      ValuePtr key = pop();
      set_item(top(), std::move(key), std::move(value));
      break;
    }
    case 'u': {  // SETITEMS
      Items items = pop_mark();
      if (items.size() % 2) corrupt("SETITEMS with an odd number of items");
      const ValuePtr& dict = top();
      for (size_t i = 0; i < items.size(); i += 2) set_item(dict, items[i], items[i + 1]);
      break;
    }

    // -- memo
    case 'q': memo_put(le(1)); break;           // BINPUT
    case 'r': memo_put(le(4)); break;           // LONG_BINPUT
    case 0x94: memo_put(memo_.size()); break;   // MEMOIZE
    case 'h': memo_get(le(1)); break;           // BINGET
    case 'j': memo_get(le(4)); break;           // LONG_BINGET

    // -- globals, calls, persistent ids
    case 'c': {  // GLOBAL
      std::string module = text_line();
      std::string name = text_line();
      push(global(module, name));
      break;
    }
    case 0x93: {  // STACK_GLOBAL
      ValuePtr name = pop();
      ValuePtr module = pop();
      if (!name->is(Kind::String) || !module->is(Kind::String)) corrupt("STACK_GLOBAL needs two strings");
      push(global(module->as_string(), name->as_string()));
      break;
    }
    case 'R': {  // REDUCE
      ValuePtr args = pop();
      ValuePtr callable = pop();
      push(reduce(*callable, *args));
      break;
    }
    case 'b': {  // BUILD: only the OrderedDict state (state_dict._metadata), which we drop
      ValuePtr state = pop();
      const ValuePtr& target = top();
      if (!(target->is(Kind::Dict) && target->ordered))
        corrupt(std::string("BUILD on a ") + kind_name(target->kind) + " is not supported");
      break;
    }
    case 'Q': {  // BINPERSID
      ValuePtr pid = pop();
      push(persistent_load(*pid));
      break;
    }

    // -- known but refused
    case 'i': {  // INST imports like GLOBAL: name the global if it is not allowed
      std::string module = text_line();
      std::string name = text_line();
      global(module, name);
      corrupt("opcode INST is not supported");
    }
    case 0x81: corrupt("opcode NEWOBJ is not supported");
    case 0x92: corrupt("opcode NEWOBJ_EX is not supported");
    case 'o': corrupt("opcode OBJ is not supported");
    case 0x82: case 0x83: case 0x84: corrupt("extension-registry opcodes (EXT1/2/4) are not supported");
    case 'P': corrupt("text persistent ids (PERSID) are not supported");
    case 0x8f: case 0x90: case 0x91: corrupt("sets are not supported in a checkpoint");
    case 0x96: case 0x97: case 0x98: corrupt("protocol 5 buffers are not supported");
    case 'I': case 'L': case 'F': case 'S': case 'V': case 'p': case 'g': case 'T': case 'U':
      corrupt("protocol 0/1 opcode '" + std::string(1, static_cast<char>(op)) + "' is not supported");
    default: {
      static const char* hex = "0123456789abcdef";
      corrupt(std::string("unknown opcode 0x") + hex[op >> 4] + hex[op & 15]);
    }
  }
}

}  // namespace

ValuePtr unpickle(const void* data, size_t size, const Limits& limits, size_t* consumed) {
  try {
    Unpickler u(static_cast<const uint8_t*>(data), size, limits);
    ValuePtr v = u.run();
    if (consumed) *consumed = u.consumed();
    return v;
  } catch (const std::bad_alloc&) {
    throw Error(codes::kCorrupt, "invalid checkpoint pickle: out of memory while parsing");
  }
}

}  // namespace pickle
}  // namespace laa
