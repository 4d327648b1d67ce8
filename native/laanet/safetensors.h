// safetensors read/write: the project's weight format. Layout: u64 LE header
// length, a JSON header (dtype, shape, data_offsets per tensor, plus a
// string-to-string `__metadata__`), then the raw little-endian data.
#pragma once
#include <map>
#include <string>

#include "laanet/state_dict.h"

namespace laa {

struct SafetensorsFile {
  StateDict tensors;  // in file order (ascending data offset)
  std::map<std::string, std::string> metadata;
};

SafetensorsFile read_safetensors(const std::string& path);

// Written to `path + ".tmp-<pid>"`, flushed to disk, then renamed over `path`,
// so a crash never leaves a half-written file behind.
void write_safetensors(const std::string& path, const StateDict& tensors,
                       const std::map<std::string, std::string>& metadata);

// True when the file starts like a safetensors file (used to pick a loader).
bool looks_like_safetensors(const std::string& path);

}  // namespace laa
