// The one reader of a weights path: a safetensors file or a torch.save
// checkpoint (official LAA-Net .pth, EfficientNet ImageNet weights), told
// apart once by its first bytes.
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "core/state_dict.h"

namespace laa {

struct WeightsFile {
  StateDict tensors;                            // in file order
  std::map<std::string, std::string> metadata;  // safetensors metadata (empty for .pth)
  std::string format;                           // "safetensors" | "pytorch-checkpoint"
  int64_t epoch = -1;                           // a .pth 'epoch' entry, -1 when absent
};

// ENOENT / EINVAL for a path that is not a regular file; ECORRUPT, EUNSAFE from the format readers.
WeightsFile read_weights(const std::string& path);

}  // namespace laa
