#include "weights/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "core/digest.h"
#include "core/errors.h"
#include "core/files.h"

namespace laa {

namespace {

using json = nlohmann::ordered_json;

struct DtypeInfo { const char* name; torch::ScalarType type; };
constexpr DtypeInfo kDtypes[] = {
    {"F64", torch::kFloat64}, {"F32", torch::kFloat32}, {"F16", torch::kFloat16},
    {"BF16", torch::kBFloat16}, {"I64", torch::kInt64}, {"I32", torch::kInt32},
    {"I16", torch::kInt16}, {"I8", torch::kInt8}, {"U8", torch::kUInt8}, {"BOOL", torch::kBool}};

torch::ScalarType dtype_from_name(const std::string& name, const std::string& key) {
  for (const auto& d : kDtypes)
    if (name == d.name) return d.type;
  throw Error(codes::kCorrupt, "safetensors: tensor '" + key + "' has unsupported dtype '" + name + "'");
}

const char* dtype_name(torch::ScalarType t) {
  for (const auto& d : kDtypes)
    if (t == d.type) return d.name;
  throw Error(codes::kArg, std::string("safetensors: cannot store dtype ") + c10::toString(t));
}

constexpr uint64_t kMaxHeader = 100ull << 20;  // the format's own limit

[[noreturn]] void digest_gap(const std::string& where) {
  throw Error(codes::kCorrupt, where + ": it carries a data SHA-256 but its tensors do not cover the data section "
                                       "back to back, so the digest cannot be checked");
}

}  // namespace

bool looks_like_safetensors(const std::string& path) {
  struct stat st;  // never open a FIFO or device to peek (it could block or never end)
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  std::ifstream in(path, std::ios::binary);
  unsigned char buf[9];
  if (!in.read(reinterpret_cast<char*>(buf), 9)) return false;
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | buf[i];
  return n > 1 && n <= kMaxHeader && buf[8] == '{';
}

SafetensorsFile read_safetensors(const std::string& path) {
  require_regular_file(path, "safetensors file");
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw Error(codes::kNotFound, "cannot open '" + path + "': " + std::strerror(errno));
  const uint64_t file_size = uint64_t(in.tellg());
  in.seekg(0);
  const std::string where = "safetensors file '" + path + "'";
  if (file_size < 8) throw Error(codes::kCorrupt, where + " is too short (" + std::to_string(file_size) + " bytes)");
  unsigned char len_bytes[8];
  in.read(reinterpret_cast<char*>(len_bytes), 8);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];
  if (header_len > kMaxHeader || header_len > file_size - 8)
    throw Error(codes::kCorrupt, where + ": header length " + std::to_string(header_len) +
                                     " does not fit in a file of " + std::to_string(file_size) + " bytes");
  std::string header(header_len, '\0');
  in.read(header.data(), std::streamsize(header_len));
  json j;
  try {
    j = json::parse(header);
  } catch (const std::exception& e) {
    throw Error(codes::kCorrupt, where + ": header is not valid JSON (" + e.what() + ")");
  }
  if (!j.is_object()) throw Error(codes::kCorrupt, where + ": header is not a JSON object");

  const uint64_t data_start = 8 + header_len, data_size = file_size - data_start;
  SafetensorsFile out;
  struct Entry { std::string key; uint64_t begin, end; torch::ScalarType type; std::vector<int64_t> shape; };
  std::vector<Entry> entries;
  try {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.key() == "__metadata__") {
          if (!it->is_object()) throw Error(codes::kCorrupt, where + ": __metadata__ is not an object");
        for (auto m = it->begin(); m != it->end(); ++m) {
          if (!m->is_string())
            throw Error(codes::kCorrupt, where + ": metadata entry '" + m.key() + "' is a " + m->type_name() +
                                             ", expected a string");
          out.metadata[m.key()] = m->get<std::string>();
        }
        continue;
      }
      const json& t = it.value();
      Entry e;
      e.key = it.key();
      const std::string tensor = where + ": tensor '" + e.key + "'";
      if (!t.is_object()) throw Error(codes::kCorrupt, tensor + " is not an object");
      if (!t.contains("dtype") || !t["dtype"].is_string()) throw Error(codes::kCorrupt, tensor + " has no dtype string");
      e.type = dtype_from_name(t["dtype"].get<std::string>(), e.key);
      if (!t.contains("shape") || !t["shape"].is_array() || t["shape"].size() > 64)
        throw Error(codes::kCorrupt, tensor + " needs a shape of at most 64 dimensions");
      // Counts in checked arithmetic: a shape whose element or byte count wraps
      // around 2^64 must not reach LibTorch as a small number.
      uint64_t numel = 1;
      for (const auto& d : t["shape"]) {
        if (!d.is_number_integer() || d.get<int64_t>() < 0)
          throw Error(codes::kCorrupt, tensor + " has shape entry " + d.dump() + ", expected a non-negative integer");
        const uint64_t v = d.get<uint64_t>();
        if (v > uint64_t(INT64_MAX)) throw Error(codes::kCorrupt, tensor + " has a dimension of " + d.dump());
        e.shape.push_back(int64_t(v));
        if (__builtin_mul_overflow(numel, v, &numel))
          throw Error(codes::kCorrupt, tensor + " has a shape whose element count overflows 64 bits");
      }
      const auto& off = t.contains("data_offsets") ? t["data_offsets"] : json();
      if (!off.is_array() || off.size() != 2) throw Error(codes::kCorrupt, tensor + " needs two data_offsets");
      for (const auto& o : off)
        if (!o.is_number_unsigned() && !(o.is_number_integer() && o.get<int64_t>() >= 0))
          throw Error(codes::kCorrupt, tensor + " has data_offsets entry " + o.dump() + ", expected a non-negative integer");
      e.begin = off[0].get<uint64_t>();
      e.end = off[1].get<uint64_t>();
      uint64_t expected = 0;
      if (__builtin_mul_overflow(numel, uint64_t(c10::elementSize(e.type)), &expected) || numel > uint64_t(INT64_MAX))
        throw Error(codes::kCorrupt, tensor + " has a shape whose byte count overflows 64 bits");
      if (e.end < e.begin || e.end > data_size || e.end - e.begin != expected)
        throw Error(codes::kCorrupt, where + ": tensor '" + e.key + "' has data_offsets [" +
                                         std::to_string(e.begin) + ", " + std::to_string(e.end) +
                                         "] but needs " + std::to_string(expected) + " bytes within " +
                                         std::to_string(data_size));
      entries.push_back(std::move(e));
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(codes::kCorrupt, where + ": malformed header (" + e.what() + ")");
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.begin < b.begin; });
  for (size_t i = 1; i < entries.size(); ++i)
    if (entries[i].begin < entries[i - 1].end)
      throw Error(codes::kCorrupt, where + ": tensors '" + entries[i - 1].key + "' and '" + entries[i].key + "' overlap");

  // The data section's SHA-256, when the writer recorded one (this package's writer does).
  const auto digest = out.metadata.find(kDataSha256);
  Sha256 sha;
  uint64_t hashed = 0;
  for (const auto& e : entries) {
    auto t = torch::empty(e.shape, torch::TensorOptions().dtype(e.type));
    in.seekg(std::streamoff(data_start + e.begin));
    if (!in.read(static_cast<char*>(t.data_ptr()), std::streamsize(e.end - e.begin)))
      throw Error(codes::kCorrupt, where + ": truncated while reading '" + e.key + "'");
    if (digest != out.metadata.end()) {
      if (e.begin != hashed) digest_gap(where);
      sha.update(t.data_ptr(), size_t(e.end - e.begin));
      hashed = e.end;
    }
    out.tensors.emplace_back(e.key, std::move(t));
  }
  if (digest != out.metadata.end()) {
    if (hashed != data_size) digest_gap(where);
    const std::string got = sha.hex();
    if (got != digest->second)
      throw Error(codes::kCorrupt, where + ": its data does not match the SHA-256 in its metadata (" + kDataSha256 +
                                       " " + digest->second.substr(0, 80) + ", data " + got +
                                       "): the file is damaged or was altered");
  }
  return out;
}

void write_safetensors(const std::string& path, const StateDict& tensors,
                       const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  std::vector<torch::Tensor> data;
  uint64_t offset = 0;
  std::set<std::string> seen;
  Sha256 sha;
  for (const auto& kv : tensors) {
    if (!seen.insert(kv.first).second) throw Error(codes::kArg, "safetensors: duplicate tensor name '" + kv.first + "'");
    auto t = kv.second.detach().to(torch::kCPU).contiguous();
    const uint64_t n = t.numel() * t.element_size();
    header[kv.first] = {{"dtype", dtype_name(t.scalar_type())},
                        {"shape", t.sizes().vec()},
                        {"data_offsets", {offset, offset + n}}};
    offset += n;
    sha.update(t.data_ptr(), size_t(n));
    data.push_back(t);
  }
  json m = json::object();
  for (const auto& kv : metadata) m[kv.first] = kv.second;
  m[kDataSha256] = sha.hex();
  header["__metadata__"] = m;
  std::string h = header.dump();
  if (h.size() > kMaxHeader)
    throw Error(codes::kArg, "safetensors: the header (tensor table and metadata) would be " + std::to_string(h.size()) +
                                 " bytes, over the format's limit of " + std::to_string(kMaxHeader) +
                                 " that readers enforce; store less metadata");
  while ((h.size() + 8) % 8) h.push_back(' ');  // keep the data 8-byte aligned

  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) throw Error(codes::kNotFound, "cannot write '" + tmp + "': " + std::strerror(errno));
  bool ok = true;
  unsigned char len_bytes[8];
  for (int i = 0; i < 8; ++i) len_bytes[i] = (uint64_t(h.size()) >> (8 * i)) & 0xff;
  ok = ok && std::fwrite(len_bytes, 1, 8, f) == 8;
  ok = ok && std::fwrite(h.data(), 1, h.size(), f) == h.size();
  for (const auto& t : data) {
    const size_t n = t.numel() * t.element_size();
    ok = ok && std::fwrite(t.data_ptr(), 1, n, f) == n;
  }
  ok = ok && std::fflush(f) == 0 && ::fsync(fileno(f)) == 0;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    throw Error(codes::kInternal, "failed to write '" + path + "': " + why);
  }
}

}  // namespace laa
