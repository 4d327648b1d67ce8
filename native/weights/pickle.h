// A restricted unpickler for the data.pkl record of torch.save checkpoints
// (and for the pickles of the legacy, pre-1.6 format).
//
// It never imports or calls anything named by the file: GLOBAL names go
// through a fixed allow-list (OrderedDict, tensor rebuilders, storage types)
// and are then interpreted here. Anything else raises laa::Error(EUNSAFE);
// malformed input raises laa::Error(ECORRUPT). Tensors are not loaded: they
// come back as references to storage records that the caller may read.
#pragma once
#include <c10/core/ScalarType.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace laa {
namespace pickle {

enum class Kind {
  None, Bool, Int, Float, String, Bytes, List, Tuple, Dict, Tensor,
  Storage,  // a persistent-id storage not (yet) wrapped in a tensor
  Global,   // an allow-listed callable or storage type, unapplied
};

const char* kind_name(Kind kind);

// A tensor (or bare storage) whose bytes live in the record `data/<key>`.
struct TensorRef {
  c10::ScalarType dtype = c10::ScalarType::Undefined;
  std::string key;        // storage record name under data/
  std::string location;   // where it was saved from, e.g. "cpu", "cuda:0"
  int64_t storage_numel = 0;  // elements in the storage record
  // View of the storage (unused for Kind::Storage). Already checked to lie
  // inside storage_numel.
  int64_t storage_offset = 0;
  std::vector<int64_t> sizes, strides;
  bool requires_grad = false;
};

struct Value;
using ValuePtr = std::shared_ptr<Value>;
using Items = std::vector<ValuePtr>;                           // List, Tuple
using Entries = std::vector<std::pair<ValuePtr, ValuePtr>>;    // Dict, in insertion order

struct Value {
  Kind kind = Kind::None;
  // Bool | Int | Float | String/Bytes/Global("module.name") | List/Tuple | Dict | Tensor/Storage
  std::variant<std::monostate, bool, int64_t, double, std::string, Items, Entries,
               std::shared_ptr<const TensorRef>>
      data;
  bool ordered = false;  // Dict built by collections.OrderedDict

  // Bookkeeping of the parser: nesting depth, and whether the value already
  // sits inside a container (then it may no longer change, which rules out
  // cycles and keeps depth exact).
  uint16_t depth = 1;
  bool nested = false;

  bool is(Kind k) const { return kind == k; }
  bool as_bool() const { return std::get<bool>(data); }
  int64_t as_int() const { return std::get<int64_t>(data); }
  double as_float() const { return std::get<double>(data); }
  const std::string& as_string() const { return std::get<std::string>(data); }  // String, Bytes, Global
  const Items& items() const { return std::get<Items>(data); }                 // List, Tuple
  const Entries& entries() const { return std::get<Entries>(data); }           // Dict
  const TensorRef& tensor() const { return *std::get<std::shared_ptr<const TensorRef>>(data); }

  // The value under a string key of a Dict; nullptr if absent or not a Dict.
  const Value* find(const std::string& key) const;
};

// Limits that keep hostile input from exhausting memory or the C++ stack.
struct Limits {
  size_t max_objects = 2'000'000;  // stack pushes and memo writes in all (~50x the official checkpoint)
  int max_depth = 100;            // container nesting
  int max_dims = 64;              // tensor rank
};

// Parses one pickle (protocols 2 to 5, the subset torch.save emits); bytes
// after its STOP are left alone, and `consumed` says where it ended (the
// legacy torch.save format is several pickles in a row).
// Throws laa::Error: EUNSAFE for a global outside the allow-list, ECORRUPT
// for anything malformed or unsupported.
ValuePtr unpickle(const void* data, size_t size, const Limits& limits = Limits(), size_t* consumed = nullptr);

// `s` made safe to quote in an error message: escaped and shortened.
std::string printable(const std::string& s, size_t limit = 80);

}  // namespace pickle
}  // namespace laa
