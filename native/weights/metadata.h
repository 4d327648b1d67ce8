// Checks of the metadata a weights file carries, done once when it is read or written.
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "core/defaults.h"

namespace laa {

// EWEIGHTS when `input_size` is present and not a multiple of 32 in [kMinInputSize, kMaxInputSize].
void check_metadata(const std::map<std::string, std::string>& metadata, const std::string& path);

// The face-crop size the weights were trained at (`input_size`), else kInputSize.
int64_t input_size_of(const std::map<std::string, std::string>& metadata);

}  // namespace laa
