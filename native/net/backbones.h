// The backbone family: the one place that says what each EfficientNet is.
// Everything else (the module, the E-FPN and head widths, the inference plan,
// the trainer's freeze, the weights-file architecture names) reads it from here.
//
//   efficientnet-b4     the official LAA-Net backbone (lukemelas B4, official
//                       `models/networks/efficientNet.py` + `pose_efficientNet.py`)
//   efficientnet-lite0  EfficientNet-Lite (TF `efficientnet_lite_builder`): the same
//   efficientnet-lite1  MBConv stages without squeeze-excite, ReLU6 instead of swish,
//   efficientnet-lite2  stem (32) and head (1280) and the first and last stages' repeats not scaled
//
// The E-FPN reads four endpoints, in the same roles for every member: the last
// block of the stride-8 stage (reduction_3), of the last stride-16 stage
// (reduction_4), of the last stage (reduction_5, stride 32) and the head conv
// (reduction_6).
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace laa {

// Zero padding (left, right, top, bottom) applied before a convolution.
using Pad4 = std::array<int64_t, 4>;

// The lukemelas "static same" padding, computed once for the preset image
// size (380 for B4, 224/240/260 for Lite0/1/2) rather than for the real
// input. At 384 this differs from TF-SAME in B4's block 6 only (official
// `models/networks/efficientNet.py`), and the released weights depend on it.
Pad4 static_same_padding(int64_t image_size, int64_t kernel, int64_t stride);

enum class Activation { kSwish, kReLU6 };

struct MBConvArgs {
  int64_t index;        // 0-based block index, sets the drop-connect rate
  int64_t kernel;
  int64_t stride;
  int64_t expand;
  int64_t in_ch;
  int64_t out_ch;
  int64_t se_ch;        // squeeze channels; 0: no squeeze-excite (Lite)
  Activation act;
  Pad4 dw_pad;
};

struct BackboneSpec {
  std::string name;           // "efficientnet-b4", "efficientnet-lite0", ...
  std::string architecture;   // the weights-file metadata value, "laa-net-<name>-efpn"
  double width = 1, depth = 1;
  int64_t preset_image_size = 0;  // what the static padding is computed for
  double dropout = 0;         // the backbone's dropout_rate, reused on the E-FPN inputs
  double drop_connect = 0.2;  // scaled by block index / block count
  Activation act = Activation::kSwish;
  int64_t stem_ch = 0, head_ch = 0;
  Pad4 stem_pad{0, 0, 0, 0};
  std::vector<MBConvArgs> blocks;
  std::array<int64_t, 3> endpoint_blocks{};   // blocks whose outputs are reduction_3, _4, _5
  std::array<int64_t, 4> endpoint_ch{};       // channels of reduction_3, _4, _5, _6
  int64_t imagenet_size = 0;  // the resolution its ImageNet weights were trained at

  // E-FPN widths follow the endpoints: deconv_1 maps reduction_6 to
  // reduction_5's width, each gated stage doubles a lateral's width, and the
  // heads read 2 × reduction_3's channels (112 for B4).
  int64_t head_input_ch() const { return 2 * endpoint_ch[0]; }
};

// The official backbone (the only one of the released checkpoints).
inline const std::string kDefaultBackbone = "efficientnet-b4";

// Throws laa::Error(EINVAL) naming the known members for an unknown name.
const BackboneSpec& backbone_spec(const std::string& name);
// nullptr when no member carries that metadata architecture name.
const BackboneSpec* backbone_for_architecture(const std::string& architecture);
const std::vector<std::string>& backbone_names();
// "efficientnet-b4, efficientnet-lite0, ..." for messages.
std::string backbone_list();

}  // namespace laa
