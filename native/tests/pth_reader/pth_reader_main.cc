// Standalone check of the .pth reader (not part of the addon).
//
//   pth_reader_main FILE...
//       one JSON line per file: its tensors (key, dtype, shape, sum, wsum) or
//       its error code and message. wsum = sum(flat[i] * i) catches layout
//       mix-ups that a plain sum cannot. Exit status 0 unless something other
//       than a laa::Error escaped.
//   pth_reader_main --fuzz-pickle ITERATIONS SEED FILE.pth
//       mutates FILE's data.pkl (byte flips, truncations, splices) and
//       unpickles each variant in-process; prints how many ended in which code.
#include <caffe2/serialize/inline_container.h>

#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/dtypes.h"
#include "core/errors.h"
#include "weights/pickle.h"
#include "weights/pth_reader.h"

namespace {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string json_number(double d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", d);
  return buf;
}


std::string describe_file(const std::string& path) {
  std::string out = "{\"file\": " + json_string(path);
  try {
    laa::PthCheckpoint ckpt = laa::read_pth(path);
    out += ", \"ok\": true, \"epoch\": " + std::to_string(ckpt.epoch) +
           ", \"has_optimizer\": " + (ckpt.has_optimizer ? "true" : "false") + ", \"tensors\": [";
    bool first = true;
    for (const auto& kv : ckpt.state_dict) {
      const torch::Tensor flat = kv.second.reshape(-1).to(torch::kFloat64);
      const double sum = flat.sum().item<double>();
      const double wsum = (flat * torch::arange(flat.numel(), torch::kFloat64)).sum().item<double>();
      std::string shape = "[";
      for (int64_t i = 0; i < kv.second.dim(); ++i) shape += (i ? ", " : "") + std::to_string(kv.second.size(i));
      out += std::string(first ? "" : ", ") + "{\"key\": " + json_string(kv.first) + ", \"dtype\": \"" +
             laa::dtype_name(kv.second.scalar_type()) + "\", \"shape\": " + shape + "], \"sum\": " +
             json_number(sum) + ", \"wsum\": " + json_number(wsum) +
             ", \"contiguous\": " + (kv.second.is_contiguous() ? "true" : "false") + "}";
      first = false;
    }
    out += "]}";
  } catch (const laa::Error& e) {
    out += ", \"ok\": false, \"code\": " + json_string(e.code) + ", \"message\": " + json_string(e.what()) + "}";
  }
  return out;
}

std::vector<uint8_t> read_data_pkl(const std::string& path) {
  caffe2::serialize::PyTorchStreamReader zip(path);
  at::DataPtr ptr;
  size_t size = 0;
  std::tie(ptr, size) = zip.getRecord("data.pkl");
  const auto* p = static_cast<const uint8_t*>(ptr.get());
  return std::vector<uint8_t>(p, p + size);
}

int fuzz_pickle(long iterations, unsigned seed, const std::string& path) {
  const std::vector<uint8_t> original = read_data_pkl(path);
  std::mt19937 rng(seed);
  auto below = [&](size_t n) { return n ? static_cast<size_t>(rng() % n) : 0; };
  std::map<std::string, long> outcomes;
  for (long it = 0; it < iterations; ++it) {
    std::vector<uint8_t> d = original;
    const int edits = 1 + static_cast<int>(below(4));
    for (int e = 0; e < edits && !d.empty(); ++e) {
      switch (below(5)) {
        case 0: d[below(d.size())] = static_cast<uint8_t>(rng()); break;          // random byte
        case 1: d[below(d.size())] ^= static_cast<uint8_t>(1u << below(8)); break;  // bit flip
        case 2: d.resize(below(d.size())); break;                                  // truncate
        case 3: {  // copy a chunk over another place (repeats opcodes, memo indices)
          const size_t from = below(d.size()), len = 1 + below(16), to = below(d.size());
          for (size_t i = 0; i < len && from + i < d.size() && to + i < d.size(); ++i) d[to + i] = d[from + i];
          break;
        }
        case 4: d.insert(d.begin() + static_cast<long>(below(d.size())), static_cast<uint8_t>(rng())); break;
      }
    }
    try {
      laa::pickle::unpickle(d.data(), d.size());
      outcomes["parsed"]++;
    } catch (const laa::Error& e) {
      outcomes[e.code]++;
    } catch (const std::exception& e) {
      std::printf("iteration %ld: unexpected %s\n", it, e.what());
      return 1;
    }
  }
  for (const auto& kv : outcomes) std::printf("%s: %ld\n", kv.first.c_str(), kv.second);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 5 && std::string(argv[1]) == "--fuzz-pickle")
    return fuzz_pickle(std::stol(argv[2]), static_cast<unsigned>(std::stoul(argv[3])), argv[4]);
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE... | --fuzz-pickle ITERATIONS SEED FILE.pth\n", argv[0]);
    return 2;
  }
  for (int i = 1; i < argc; ++i) std::printf("%s\n", describe_file(argv[i]).c_str());
  return 0;
}
