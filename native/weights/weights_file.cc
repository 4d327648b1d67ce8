#include "weights/weights_file.h"

#include "core/files.h"
#include "weights/pth_reader.h"
#include "weights/safetensors.h"

namespace laa {

WeightsFile read_weights(const std::string& path) {
  require_regular_file(path, "weights file");
  WeightsFile out;
  if (looks_like_safetensors(path)) {
    SafetensorsFile file = read_safetensors(path);
    out.tensors = std::move(file.tensors);
    out.metadata = std::move(file.metadata);
    out.format = "safetensors";
  } else {
    PthCheckpoint ckpt = read_pth(path);
    out.tensors = std::move(ckpt.state_dict);
    out.epoch = ckpt.epoch;
    out.format = "pytorch-checkpoint";
  }
  return out;
}

}  // namespace laa
