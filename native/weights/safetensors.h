// safetensors read/write: the project's weight format. Layout: u64 LE header
// length, a JSON header (dtype, shape, data_offsets per tensor, plus a
// string-to-string `__metadata__`), then the raw little-endian data.
#pragma once
#include <map>
#include <string>

#include "core/state_dict.h"

namespace laa {

// The metadata key under which this package's writer records the SHA-256 of
// the data section (lowercase hex); readers check it when present.
inline constexpr const char* kDataSha256 = "data_sha256";

struct SafetensorsFile {
  StateDict tensors;  // in file order (ascending data offset)
  std::map<std::string, std::string> metadata;
};

// Every header field is validated before use (ECORRUPT naming the tensor or
// entry): integer shapes and offsets, counts in checked arithmetic, offsets
// inside the data, no overlaps, string metadata, and the data SHA-256 if any.
// ENOENT / EINVAL for a path that is not a regular file.
SafetensorsFile read_safetensors(const std::string& path);

// Written to `path + ".tmp-<pid>"`, flushed to disk, then renamed over `path`,
// so a crash never leaves a half-written file behind. The metadata gains the
// data's SHA-256 (kDataSha256); EINVAL when the header would exceed 100 MiB.
void write_safetensors(const std::string& path, const StateDict& tensors,
                       const std::map<std::string, std::string>& metadata);

// True when the file starts like a safetensors file (used to pick a loader).
bool looks_like_safetensors(const std::string& path);

}  // namespace laa
