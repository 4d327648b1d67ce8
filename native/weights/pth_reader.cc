#include "weights/pth_reader.h"

#include <c10/core/CPUAllocator.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <new>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "core/digest.h"
#include "core/errors.h"
#include "core/files.h"
#include "weights/pickle.h"

namespace laa {
namespace {

using pickle::Kind;
using pickle::printable;
using pickle::TensorRef;
using pickle::Value;

// data.pkl of the official checkpoint is well under 1 MiB.
constexpr size_t kMaxPickleBytes = 64u << 20;

[[noreturn]] void corrupt(const std::string& path, const std::string& what) {
  throw Error(codes::kCorrupt, "cannot load checkpoint '" + path + "': " + what);
}

// LibTorch messages carry a backtrace and sometimes several lines; keep the first.
std::string short_message(const std::exception& e) {
  const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
  std::string msg = c10_error ? c10_error->what_without_backtrace() : e.what();
  const size_t nl = msg.find('\n');
  if (nl != std::string::npos) msg.resize(nl);
  return msg;
}

// The legacy format starts with a pickled magic number, 0x1950a86a20f9469cfc6c.
constexpr unsigned char kLegacyMagic[15] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46,
                                            0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, '.'};

enum class Container { kZip, kLegacy };

// Fails early, with a helpful message, on what is neither a zip nor a legacy checkpoint.
Container check_container(const std::string& path) {
  require_regular_file(path, "checkpoint");
  std::ifstream in(path, std::ios::binary);
  if (!in) corrupt(path, "cannot open it for reading");
  unsigned char head[sizeof kLegacyMagic] = {0};
  in.read(reinterpret_cast<char*>(head), sizeof head);
  const size_t got = static_cast<size_t>(in.gcount());
  if (got == 0) corrupt(path, "the file is empty");
  if (got >= 4 && std::memcmp(head, "PK\x03\x04", 4) == 0) return Container::kZip;
  if (got == sizeof kLegacyMagic && std::memcmp(head, kLegacyMagic, sizeof kLegacyMagic) == 0)
    return Container::kLegacy;
  if (head[0] == 0x80) corrupt(path, "it is a bare pickle, not a PyTorch zip checkpoint");
  corrupt(path, "not a PyTorch zip checkpoint (no zip header)");
}

uint64_t read_le(const std::vector<char>& buf, size_t at, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i)
    v |= static_cast<uint64_t>(static_cast<unsigned char>(buf[at + i])) << (8 * i);
  return v;
}

bool read_at(std::ifstream& in, uint64_t offset, std::vector<char>& buf) {
  in.clear();
  in.seekg(static_cast<std::streamoff>(offset));
  in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
  return static_cast<size_t>(in.gcount()) == buf.size();
}

// The zip's central directory, read here rather than by LibTorch's reader
// (which leaks its state on a malformed archive, skips the CRC check, and
// allocates whatever a record claims): torch.save writes "stored" records
// only, so a record is a local header and its bytes. Names are taken without
// the archive's top folder ("<archive>/data/0" -> "data/0").
struct ZipEntry {
  uint64_t header = 0;  // local file header offset
  uint64_t size = 0;    // stored size (= uncompressed: method 0)
  uint32_t crc = 0;
  uint32_t method = 0;
};

struct ZipDirectory {
  bool found = false;   // an end-of-central-directory record was found
  uint64_t claimed = 0; // the uncompressed sizes all records claim
  std::unordered_map<std::string, ZipEntry> entries;
};

ZipDirectory read_directory(const std::string& path, uint64_t file_size) {
  ZipDirectory dir;
  std::ifstream in(path, std::ios::binary);
  // End of central directory: 22 bytes plus a comment of up to 65535.
  std::vector<char> tail(static_cast<size_t>(std::min<uint64_t>(file_size, 22 + 65535)));
  if (tail.size() < 22 || !read_at(in, file_size - tail.size(), tail)) return dir;
  size_t eocd = tail.size() - 22;
  while (read_le(tail, eocd, 4) != 0x06054b50) {
    if (eocd == 0) return dir;
    --eocd;
  }
  uint64_t cd_size = read_le(tail, eocd + 12, 4), cd_offset = read_le(tail, eocd + 16, 4);
  if (cd_size == 0xffffffff || cd_offset == 0xffffffff) {  // zip64: follow the locator
    const uint64_t eocd_pos = file_size - tail.size() + eocd;
    std::vector<char> locator(20), eocd64(56);
    if (eocd_pos < 20 || !read_at(in, eocd_pos - 20, locator) || read_le(locator, 0, 4) != 0x07064b50) return dir;
    const uint64_t at = read_le(locator, 8, 8);
    if (at > file_size || !read_at(in, at, eocd64) || read_le(eocd64, 0, 4) != 0x06064b50) return dir;
    cd_size = read_le(eocd64, 40, 8);
    cd_offset = read_le(eocd64, 48, 8);
  }
  if (cd_offset > file_size || cd_size > file_size - cd_offset) return dir;
  std::vector<char> cd(static_cast<size_t>(cd_size));
  if (!read_at(in, cd_offset, cd)) return dir;
  dir.found = true;
  uint64_t total = 0;
  for (size_t p = 0; p + 46 <= cd.size() && read_le(cd, p, 4) == 0x02014b50;) {
    ZipEntry e;
    e.method = uint32_t(read_le(cd, p + 10, 2));
    e.crc = uint32_t(read_le(cd, p + 16, 4));
    uint64_t csize = read_le(cd, p + 20, 4), usize = read_le(cd, p + 24, 4);
    e.header = read_le(cd, p + 42, 4);
    const size_t name = read_le(cd, p + 28, 2), extra = read_le(cd, p + 30, 2), comment = read_le(cd, p + 32, 2);
    if (p + 46 + name + extra > cd.size()) break;
    // zip64 extra block: the 8-byte values of the fields that read 0xffffffff, in this order.
    for (size_t x = p + 46 + name; x + 4 <= p + 46 + name + extra;) {
      const size_t id = read_le(cd, x, 2), len = read_le(cd, x + 2, 2);
      if (id == 0x0001) {
        size_t f = x + 4;
        const size_t end = std::min(x + 4 + len, cd.size());
        auto take = [&](uint64_t& v) {
          if (v == 0xffffffff && f + 8 <= end) { v = read_le(cd, f, 8); f += 8; }
        };
        take(usize);
        take(csize);
        take(e.header);
      }
      x += 4 + len;
    }
    e.size = csize;
    const std::string full(cd.data() + p + 46, name);
    const size_t slash = full.find('/');
    dir.entries[slash == std::string::npos ? full : full.substr(slash + 1)] = e;
    total = usize > UINT64_MAX - total ? UINT64_MAX : total + usize;
    if (e.method == 0 && usize != csize) total = UINT64_MAX;  // a stored record's sizes must agree
    p += 46 + name + extra + comment;
  }
  dir.claimed = total;
  return dir;
}

// torch.save stores records uncompressed, so they add up to about the file
// size. The zip reader allocates whatever a record claims, so refuse archives
// that claim far more (deflate or overlapping-entry zip bombs) up front.
ZipDirectory check_claimed_sizes(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return {};
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  ZipDirectory dir = read_directory(path, file_size);
  if (!dir.found) corrupt(path, "not a PyTorch zip checkpoint (no readable central directory)");
  if (dir.claimed > 4 * file_size + (1u << 20))
    corrupt(path, "its records claim " + std::to_string(dir.claimed) + " bytes once unpacked, implausible for a " +
                      std::to_string(file_size) + "-byte checkpoint");
  return dir;
}

// LibTorch's zip reader is built without miniz's CRC check, so a flipped byte
// in a record would load silently; every record read is checked here.
void check_crc(const std::string& path, const ZipDirectory& dir, const std::string& record, const void* data,
               size_t size) {
  auto it = dir.entries.find(record);
  if (it == dir.entries.end()) corrupt(path, "record '" + record + "' is not in the zip's central directory");
  const uint32_t got = crc32(data, size);
  if (got != it->second.crc) {
    char msg[160];
    std::snprintf(msg, sizeof msg, "record '%s' fails its CRC-32 check (the zip says %08x, its data gives %08x): the file is damaged",
                  printable(record, 60).c_str(), it->second.crc, got);
    corrupt(path, msg);
  }
}

// One stored record's bytes (CRC-checked), read from its local header on.
at::DataPtr read_record(const std::string& path, std::ifstream& in, uint64_t file_size, const ZipDirectory& dir,
                        const std::string& record, size_t* size) {
  auto it = dir.entries.find(record);
  if (it == dir.entries.end()) corrupt(path, "record '" + printable(record, 60) + "' is missing");
  const ZipEntry& e = it->second;
  if (e.method != 0)
    corrupt(path, "record '" + printable(record, 60) + "' is compressed (method " + std::to_string(e.method) +
                      "); torch.save stores records uncompressed");
  std::vector<char> local(30);
  if (e.header > file_size || !read_at(in, e.header, local) || read_le(local, 0, 4) != 0x04034b50)
    corrupt(path, "record '" + printable(record, 60) + "' has no local header where the directory says");
  const uint64_t start = e.header + 30 + read_le(local, 26, 2) + read_le(local, 28, 2);
  if (start > file_size || e.size > file_size - start)
    corrupt(path, "record '" + printable(record, 60) + "' runs past the end of the file");
  at::DataPtr data = c10::GetCPUAllocator()->allocate(static_cast<size_t>(e.size));
  if (e.size) {
    in.clear();
    in.seekg(static_cast<std::streamoff>(start));
    in.read(static_cast<char*>(data.get()), static_cast<std::streamsize>(e.size));
    if (static_cast<uint64_t>(in.gcount()) != e.size) corrupt(path, "short read in record '" + printable(record, 60) + "'");
  }
  check_crc(path, dir, record, data.get(), static_cast<size_t>(e.size));
  *size = static_cast<size_t>(e.size);
  return data;
}

// Where the tensors of the state_dict are: 'state_dict', 'model', or the top
// level itself when it maps names to tensors.
const Value& find_state_dict(const std::string& path, const Value& root) {
  if (!root.is(Kind::Dict))
    corrupt(path, std::string("the pickled object is a ") + pickle::kind_name(root.kind) +
                      ", expected a dict or a state_dict");
  for (const char* name : {"state_dict", "model"}) {
    const Value* v = root.find(name);
    if (!v) continue;
    if (!v->is(Kind::Dict))
      corrupt(path, std::string("its '") + name + "' entry is a " + pickle::kind_name(v->kind) +
                        ", not a state_dict");
    return *v;
  }
  bool all_tensors = !root.entries().empty();
  for (const auto& kv : root.entries()) all_tensors = all_tensors && kv.second->is(Kind::Tensor);
  if (!all_tensors) {
    std::string keys;
    for (size_t i = 0; i < root.entries().size() && i < 8; ++i) {
      const Value& k = *root.entries()[i].first;
      keys += i ? ", " : "";
      keys += k.is(Kind::String) ? "'" + printable(k.as_string(), 40) + "'" : pickle::kind_name(k.kind);
    }
    corrupt(path, "it has no 'state_dict' or 'model' entry and is not a mapping of names to tensors "
                  "(top-level keys: " + keys + ")");
  }
  return root;
}

struct Storage {
  std::shared_ptr<at::DataPtr> bytes;  // shared with zero-copy tensors
  size_t nbytes = 0;
  int uses_left = 0;
};

torch::Tensor materialise(const std::string& path, const std::string& name, const TensorRef& ref,
                          const Storage& storage) {
  const size_t esize = c10::elementSize(ref.dtype);
  const int64_t numel = ref.storage_numel;
  if (storage.nbytes != static_cast<size_t>(numel) * esize)
    corrupt(path, "storage 'data/" + ref.key + "' of '" + printable(name) + "' holds " +
                      std::to_string(storage.nbytes) + " bytes, expected " +
                      std::to_string(static_cast<size_t>(numel) * esize) + " (" + std::to_string(numel) +
                      " x " + c10::toString(ref.dtype) + ")");
  const auto options = torch::TensorOptions().dtype(ref.dtype);
  __int128 count = 1;
  for (int64_t s : ref.sizes) count *= s;  // sizes are >= 0 and at most 64 of them
  if (count == 0) return torch::empty(ref.sizes, options);
  // The unpickler checked that the view stays inside the storage; a view
  // with more elements than that storage overlaps itself, which no
  // state_dict needs and which could blow up memory when copied.
  if (count > numel)
    corrupt(path, "tensor '" + printable(name) +
                      "' is an expanded or overlapping view (more elements than its storage); "
                      "re-save it with .contiguous()");

  auto keep = storage.bytes;
  auto blob_type = ref.dtype == torch::kBool ? torch::kUInt8 : ref.dtype;  // any byte may be a bool
  torch::Tensor flat = torch::from_blob(keep->get(), {numel}, [keep](void*) {},
                                        torch::TensorOptions().dtype(blob_type));
  torch::Tensor view = flat.as_strided(ref.sizes, ref.strides, ref.storage_offset);
  if (ref.dtype == torch::kBool) return view.ne(0);
  // A tensor that is exactly its storage is used in place; any other view is copied.
  if (ref.storage_offset == 0 && count == numel && view.is_contiguous()) return view;
  return view.clone(at::MemoryFormat::Contiguous);
}

// The state_dict of an unpickled checkpoint, each storage fetched once (by
// `fetch`) and released after its last tensor.
PthCheckpoint collect(const std::string& path, const Value& root,
                      const std::function<void(const TensorRef&, Storage&)>& fetch) {
  const Value& sd = find_state_dict(path, root);
  PthCheckpoint out;
  if (&sd != &root) {
    if (const Value* epoch = root.find("epoch"); epoch && epoch->is(Kind::Int)) out.epoch = epoch->as_int();
    const Value* opt = root.find("optimizer");
    out.has_optimizer = opt && !opt->is(Kind::None);
  }

  // Check every entry first and count storage uses, so each storage record is
  // read once and released after its last tensor.
  std::unordered_map<std::string, Storage> storages;
  for (const auto& kv : sd.entries()) {
    if (!kv.first->is(Kind::String)) corrupt(path, "a state_dict key is not a string");
    if (!kv.second->is(Kind::Tensor))
      corrupt(path, "state_dict entry '" + printable(kv.first->as_string()) + "' is a " +
                        pickle::kind_name(kv.second->kind) + ", not a tensor");
    storages[kv.second->tensor().key].uses_left++;
  }

  static const std::string kPrefix = "module.";
  out.state_dict.reserve(sd.entries().size());
  for (const auto& kv : sd.entries()) {
    std::string name = kv.first->as_string();
    if (name.compare(0, kPrefix.size(), kPrefix) == 0) name.erase(0, kPrefix.size());
    const TensorRef& ref = kv.second->tensor();
    Storage& storage = storages[ref.key];
    if (!storage.bytes) fetch(ref, storage);
    out.state_dict.emplace_back(std::move(name), materialise(path, kv.first->as_string(), ref, storage));
    if (--storage.uses_left == 0) storages.erase(ref.key);
  }
  return out;
}

PthCheckpoint read_zip(const std::string& path, const ZipDirectory& dir) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) corrupt(path, "cannot open it for reading");
  const uint64_t file_size = static_cast<uint64_t>(in.tellg());
  size_t size = 0;
  if (dir.entries.count("byteorder")) {
    if (dir.entries.at("byteorder").size > 64) corrupt(path, "its byteorder record is implausibly large");
    at::DataPtr b = read_record(path, in, file_size, dir, "byteorder", &size);
    if (std::string(static_cast<const char*>(b.get()), size).rfind("little", 0) != 0)
      corrupt(path, "big-endian checkpoints are not supported");
  }
  if (!dir.entries.count("data.pkl")) corrupt(path, "the archive has no data.pkl record");
  if (dir.entries.at("data.pkl").size > kMaxPickleBytes) corrupt(path, "data.pkl is implausibly large");

  pickle::ValuePtr root;
  {
    at::DataPtr pkl = read_record(path, in, file_size, dir, "data.pkl", &size);
    try {
      root = pickle::unpickle(pkl.get(), size);
    } catch (const Error& e) {
      throw Error(e.code, "cannot load checkpoint '" + path + "': " + e.what());
    }
  }

  return collect(path, *root, [&](const TensorRef& ref, Storage& storage) {
    const std::string record = "data/" + ref.key;
    if (!dir.entries.count(record)) corrupt(path, "storage record '" + record + "' is missing");
    storage.bytes = std::make_shared<at::DataPtr>(read_record(path, in, file_size, dir, record, &storage.nbytes));
  });
}


// Every storage an unpickled object refers to: key -> (dtype, elements).
void storages_in(const Value& v, std::unordered_map<std::string, std::pair<c10::ScalarType, int64_t>>& out) {
  switch (v.kind) {
    case Kind::Tensor:
    case Kind::Storage:
      out.emplace(v.tensor().key, std::make_pair(v.tensor().dtype, v.tensor().storage_numel));
      break;
    case Kind::List:
    case Kind::Tuple:
      for (const auto& item : v.items()) storages_in(*item, out);
      break;
    case Kind::Dict:
      for (const auto& kv : v.entries()) {
        storages_in(*kv.first, out);
        storages_in(*kv.second, out);
      }
      break;
    default:
      break;
  }
}

// The legacy torch.save format (PyTorch < 1.6, or _use_new_zipfile_serialization=False):
// five pickles in a row (the magic number, protocol version 1001, system
// info, the object with ('storage', type, key, location, numel, None)
// persistent ids, the list of storage keys), then each storage in that order
// as a little-endian int64 element count followed by its raw elements.
PthCheckpoint read_legacy(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) corrupt(path, "cannot open it for reading");
  const std::streamoff end = in.tellg();
  if (end < 0) corrupt(path, "cannot read its size");
  std::vector<char> buf(static_cast<size_t>(end));
  in.seekg(0);
  in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
  if (static_cast<size_t>(in.gcount()) != buf.size()) corrupt(path, "short read");

  size_t pos = sizeof kLegacyMagic;  // check_container compared the magic pickle
  auto next = [&](const char* what) {
    size_t used = 0;
    try {
      auto v = pickle::unpickle(buf.data() + pos, buf.size() - pos, pickle::Limits(), &used);
      pos += used;
      return v;
    } catch (const Error& e) {
      throw Error(e.code, "cannot load checkpoint '" + path + "' (legacy format, " + what + "): " + e.what());
    }
  };
  const auto version = next("protocol version");
  if (!version->is(Kind::Int) || version->as_int() != 1001)
    corrupt(path, "legacy format with an unknown protocol version (expected 1001)");
  const auto info = next("system info");
  if (const Value* le = info->find("little_endian"); le && le->is(Kind::Bool) && !le->as_bool())
    corrupt(path, "big-endian checkpoints are not supported");
  const auto root = next("object");
  const auto keys = next("storage keys");
  if (!keys->is(Kind::List)) corrupt(path, "legacy format without its list of storage keys");

  std::unordered_map<std::string, std::pair<c10::ScalarType, int64_t>> used;
  storages_in(*root, used);
  std::unordered_map<std::string, std::pair<size_t, size_t>> where;  // key -> (offset, bytes)
  for (const auto& k : keys->items()) {
    if (!k->is(Kind::String)) corrupt(path, "a storage key is not a string");
    const std::string& key = k->as_string();
    auto it = used.find(key);
    if (it == used.end()) corrupt(path, "storage '" + printable(key) + "' is listed but no tensor uses it");
    if (buf.size() - pos < 8) corrupt(path, "the data ends before storage '" + printable(key) + "' (truncated?)");
    const uint64_t numel = read_le(buf, pos, 8);
    pos += 8;
    if (numel != static_cast<uint64_t>(it->second.second))
      corrupt(path, "storage '" + printable(key) + "' holds " + std::to_string(numel) + " elements, its tensors expect " +
                        std::to_string(it->second.second));
    const size_t esize = c10::elementSize(it->second.first);
    if (numel > (buf.size() - pos) / esize)
      corrupt(path, "the data ends inside storage '" + printable(key) + "' (truncated?)");
    const size_t nbytes = static_cast<size_t>(numel) * esize;
    if (!where.emplace(key, std::make_pair(pos, nbytes)).second)
      corrupt(path, "storage '" + printable(key) + "' is listed twice");
    pos += nbytes;
  }
  return collect(path, *root, [&](const TensorRef& ref, Storage& storage) {
    auto it = where.find(ref.key);
    if (it == where.end()) corrupt(path, "storage '" + printable(ref.key) + "' is missing from the data");
    auto bytes = std::make_shared<at::DataPtr>(c10::GetCPUAllocator()->allocate(it->second.second));
    if (it->second.second) std::memcpy(bytes->get(), buf.data() + it->second.first, it->second.second);
    storage.nbytes = it->second.second;
    storage.bytes = std::move(bytes);
  });
}

}  // namespace

PthCheckpoint read_pth(const std::string& path) {
  const Container kind = check_container(path);
  try {
    if (kind == Container::kLegacy) return read_legacy(path);
    return read_zip(path, check_claimed_sizes(path));
  } catch (const Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    corrupt(path, "out of memory while reading it");
  } catch (const std::exception& e) {
    // The zip reader (miniz) and LibTorch report through c10::Error.
    corrupt(path, "not a PyTorch zip checkpoint (" + short_message(e) + ")");
  }
}

}  // namespace laa
