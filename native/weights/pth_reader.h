// Reads checkpoints written by torch.save (the zip container of PyTorch >=
// 1.6, and the legacy format before it: the official LAA-Net checkpoints, the
// EfficientNet ImageNet weights) without Python and without running anything
// from the file: every pickle goes through the restricted unpickler in pickle.h.
#pragma once
#include <cstdint>
#include <string>

#include "core/state_dict.h"

namespace laa {

struct PthCheckpoint {
  StateDict state_dict;      // keys without a leading "module.", in file order
  int64_t epoch = -1;        // the 'epoch' entry, -1 when absent
  bool has_optimizer = false;  // an 'optimizer' entry is present (its tensors are not loaded)
};

// Accepts {'state_dict': ...}, {'model': ...} or a bare state_dict (a dict
// whose values are all tensors). Tensors keep their saved dtype and come back
// contiguous on the CPU.
// Throws laa::Error: ENOENT (no such file), EUNSAFE (the pickle names code
// outside the allow-list), ECORRUPT (anything else unreadable).
PthCheckpoint read_pth(const std::string& path);

}  // namespace laa
