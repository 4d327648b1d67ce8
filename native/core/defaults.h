// Defaults shared by several layers, each written once. The official values
// come from the released LAA-Net configs (configs/efn4_fpn_sbi_adv.yaml).
#pragma once
#include <cstdint>

namespace laa {

// IMAGE_SIZE: the face-crop side the released models run at. A weights file
// may record another (`input_size` metadata, weights/metadata.h).
inline constexpr int64_t kInputSize = 384;

// Face-crop sizes a weights file may record: multiples of 32 in this range.
inline constexpr int64_t kMinInputSize = 64, kMaxInputSize = 1024;

}  // namespace laa
