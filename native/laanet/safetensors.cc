#include "laanet/safetensors.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "laanet/errors.h"

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

}  // namespace

bool looks_like_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char buf[9];
  if (!in.read(reinterpret_cast<char*>(buf), 9)) return false;
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | buf[i];
  return n > 1 && n <= kMaxHeader && buf[8] == '{';
}

SafetensorsFile read_safetensors(const std::string& path) {
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
        for (auto m = it->begin(); m != it->end(); ++m) out.metadata[m.key()] = m->get<std::string>();
        continue;
      }
      const json& t = it.value();
      Entry e;
      e.key = it.key();
      e.type = dtype_from_name(t.at("dtype").get<std::string>(), e.key);
      uint64_t numel = 1;
      for (const auto& d : t.at("shape")) {
        const int64_t v = d.get<int64_t>();
        if (v < 0 || v > (int64_t(1) << 40)) throw Error(codes::kCorrupt, where + ": tensor '" + e.key + "' has a bad shape");
        e.shape.push_back(v);
        numel *= uint64_t(v);
      }
      const auto& off = t.at("data_offsets");
      if (!off.is_array() || off.size() != 2) throw Error(codes::kCorrupt, where + ": tensor '" + e.key + "' needs two data_offsets");
      e.begin = off[0].get<uint64_t>();
      e.end = off[1].get<uint64_t>();
      const uint64_t expected = numel * c10::elementSize(e.type);
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

  for (const auto& e : entries) {
    auto t = torch::empty(e.shape, torch::TensorOptions().dtype(e.type));
    in.seekg(std::streamoff(data_start + e.begin));
    if (!in.read(static_cast<char*>(t.data_ptr()), std::streamsize(e.end - e.begin)))
      throw Error(codes::kCorrupt, where + ": truncated while reading '" + e.key + "'");
    out.tensors.emplace_back(e.key, std::move(t));
  }
  return out;
}

void write_safetensors(const std::string& path, const StateDict& tensors,
                       const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) {
    json m = json::object();
    for (const auto& kv : metadata) m[kv.first] = kv.second;
    header["__metadata__"] = m;
  }
  std::vector<torch::Tensor> data;
  uint64_t offset = 0;
  std::set<std::string> seen;
  for (const auto& kv : tensors) {
    if (!seen.insert(kv.first).second) throw Error(codes::kArg, "safetensors: duplicate tensor name '" + kv.first + "'");
    auto t = kv.second.detach().to(torch::kCPU).contiguous();
    const uint64_t n = t.numel() * t.element_size();
    header[kv.first] = {{"dtype", dtype_name(t.scalar_type())},
                        {"shape", t.sizes().vec()},
                        {"data_offsets", {offset, offset + n}}};
    offset += n;
    data.push_back(t);
  }
  std::string h = header.dump();
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
