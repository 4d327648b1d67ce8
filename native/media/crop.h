// The official LAA-Net test-time preprocessing (`images_crop.py`, then
// `scripts/test.py` with configs/efn4_fpn_sbi_adv.yaml and
// `package_utils/transform.py::get_affine_transform`): face box -> 1.5x box
// crop -> 256x256 -> 5 px margin crop -> align-corners warp to 384x384 -> RGB,
// (x/255 - 0.5)/0.5, CHW.
#pragma once
#include <opencv2/core.hpp>
#include <torch/types.h>

#include "core/defaults.h"
#include "media/faces.h"

namespace laa::ops {

inline constexpr double kBoxPadding = 0.25;  // images_crop.py PADDING, per side
inline constexpr int kCropSize = 256;        // images_crop.py IMAGE_H/W
inline constexpr int kTestMargin = 5;        // SBIFaceForensic test: crop_by_margin(img, [5, 5])

// images_crop.py: grows the box by int(w * 0.25) / int(h * 0.25) on each side
// (truncation, like Python's int()) and clamps to the frame. The result is
// empty when the box lies outside the frame.
cv::Rect expand_box(const FaceBox& face, int frame_w, int frame_h);

// The crop, resized to 256x256 with INTER_LINEAR (the PNG the official
// extraction writes). EINVAL for an empty rectangle or image.
cv::Mat face_crop_256(const cv::Mat& bgr, const cv::Rect& box);

// transform.py get_center_scale + get_affine_transform (rotation 0) +
// cv2.warpAffine: the image's centre goes to the output's centre and the
// longer side's first/last pixel to 0/D-1 (scale (D-1)/(S-1)); the shorter
// side is letter-boxed with zeros. The 2x3 matrix is built from the same
// three float32 points the official code passes to cv2.getAffineTransform,
// so it is bit-identical (float64, as OpenCV returns it).
cv::Mat align_corners_matrix(int src_w, int src_h, int out_size);
cv::Mat affine_align_corners(const cv::Mat& img, int out_size);

// One network input from one 256x256 BGR face crop: [3, 384, 384] RGB in
// [-1, 1]. Values are computed in float64 like the official pipeline and
// rounded once to `dtype` (float32 or float64). Other crop sizes work the
// same way (margin 5, then warp), but the official crops are 256x256.
// `size`: the network input side (384 for the official model; a model trained
// at another size records it in its weights' `input_size` metadata).
torch::Tensor to_network_input(const cv::Mat& bgr_crop, torch::ScalarType dtype = torch::kFloat32,
                               int size = int(laa::kInputSize));

// Visualisation for PNG outputs: a probability map ([96,96], [1,96,96] or
// [1,1,96,96], values in [0,1]) stretched over the image with the same
// align-corners mapping that links the 96x96 heatmap to the 384x384 input,
// coloured with COLORMAP_JET and blended 50/50 with the image.
cv::Mat overlay_heatmap(const cv::Mat& bgr, const torch::Tensor& heat);

}  // namespace laa::ops
