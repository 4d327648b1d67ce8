#include "weights/metadata.h"

#include <algorithm>
#include <cstdlib>

#include "core/errors.h"

namespace laa {

void check_metadata(const std::map<std::string, std::string>& metadata, const std::string& path) {
  auto it = metadata.find("input_size");
  if (it == metadata.end()) return;
  const std::string& v = it->second;
  const bool digits = !v.empty() && v.size() <= 5 && std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
  const long n = digits ? std::stol(v) : -1;
  if (!digits || n < kMinInputSize || n > kMaxInputSize || n % 32)
    throw Error(codes::kWeights, "'" + path + "' has metadata input_size '" + v.substr(0, 40) + "'; expected a multiple of 32 from " +
                                     std::to_string(kMinInputSize) + " to " + std::to_string(kMaxInputSize) +
                                     " (the face-crop sizes the network runs at)");
}

int64_t input_size_of(const std::map<std::string, std::string>& metadata) {
  auto it = metadata.find("input_size");
  const int v = it == metadata.end() ? 0 : std::atoi(it->second.c_str());
  return v >= kMinInputSize && v <= kMaxInputSize && v % 32 == 0 ? v : kInputSize;
}

}  // namespace laa
