#include "media/crop.h"

#include <algorithm>
#include <array>

#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include "core/errors.h"
#include "core/guard.h"

namespace laa::ops {

cv::Rect expand_box(const FaceBox& face, int frame_w, int frame_h) {
  if (frame_w <= 0 || frame_h <= 0) throw laa::Error(laa::codes::kArg, "frame size must be positive");
  const int w = face.width(), h = face.height();
  // int(face_w * padding): double product, truncated toward zero.
  const int pad_x = static_cast<int>(w * kBoxPadding);
  const int pad_y = static_cast<int>(h * kBoxPadding);
  const int x0 = std::clamp(face.left - pad_x, 0, frame_w);
  const int x1 = std::clamp(face.right + pad_x, 0, frame_w);
  const int y0 = std::clamp(face.top - pad_y, 0, frame_h);
  const int y1 = std::clamp(face.bottom + pad_y, 0, frame_h);
  return cv::Rect(x0, y0, std::max(0, x1 - x0), std::max(0, y1 - y0));
}

cv::Mat face_crop_256(const cv::Mat& bgr, const cv::Rect& box) {
  if (bgr.empty()) throw laa::Error(laa::codes::kArg, "empty image");
  const cv::Rect r = box & cv::Rect(0, 0, bgr.cols, bgr.rows);
  if (r.empty()) throw laa::Error(laa::codes::kArg, "face box is empty or outside the image");
  return guarded(laa::codes::kInternal, "face crop", [&] {
    cv::Mat out;
    cv::resize(bgr(r), out, cv::Size(kCropSize, kCropSize), 0, 0, cv::INTER_LINEAR);
    return out;
  });
}

cv::Mat align_corners_matrix(int src_w, int src_h, int out_size) {
  if (src_w < 2 || src_h < 2 || out_size < 2) throw laa::Error(laa::codes::kArg, "affine warp needs sizes >= 2");
  // get_center_scale: centre and scale live in float32 arrays; scale = S / 200
  // (pixel_std) and get_affine_transform multiplies it back by 200 in float32.
  const int side = std::max(src_w, src_h);
  const float scale = static_cast<float>(static_cast<double>(side) / 200.0);
  const float src_side = scale * 200.0f;
  const float cx = static_cast<float>((src_w - 1) / 2.0);
  const float cy = static_cast<float>((src_h - 1) / 2.0);
  const double src_half = (static_cast<double>(src_side) - 1) * 0.5;
  const double dst_half = (out_size - 1) * 0.5;

  // src[0] = c; src[1] = c + (0, -(S-1)/2); src[2] = get_3rd_point(src[0], src[1]);
  // likewise for dst around ((D-1)/2, (D-1)/2). Stored as float32, as in the official code.
  cv::Point2f src[3], dst[3];
  src[0] = {cx, cy};
  src[1] = {cx, static_cast<float>(cy - src_half)};
  dst[0] = {static_cast<float>(dst_half), static_cast<float>(dst_half)};
  dst[1] = {static_cast<float>(dst_half), static_cast<float>(dst_half - dst_half)};
  auto third = [](cv::Point2f a, cv::Point2f b) {  // b + rot90(a - b)
    const float dx = a.x - b.x, dy = a.y - b.y;
    return cv::Point2f(b.x - dy, b.y + dx);
  };
  src[2] = third(src[0], src[1]);
  dst[2] = third(dst[0], dst[1]);
  return cv::getAffineTransform(src, dst);  // CV_64F 2x3
}

cv::Mat affine_align_corners(const cv::Mat& img, int out_size) {
  if (img.empty()) throw laa::Error(laa::codes::kArg, "empty image");
  cv::Mat m = align_corners_matrix(img.cols, img.rows, out_size);
  return guarded(laa::codes::kInternal, "affine warp", [&] {
    cv::Mat out;
    cv::warpAffine(img, out, m, cv::Size(out_size, out_size), cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar());
    return out;
  });
}

torch::Tensor to_network_input(const cv::Mat& bgr_crop, torch::ScalarType dtype, int size) {
  if (bgr_crop.type() != CV_8UC3) throw laa::Error(laa::codes::kArg, "expected an 8-bit BGR image");
  if (bgr_crop.cols <= 2 * kTestMargin + 1 || bgr_crop.rows <= 2 * kTestMargin + 1)
    throw laa::Error(laa::codes::kArg, "face crop is too small");
  if (dtype != torch::kFloat32 && dtype != torch::kFloat64)
    throw laa::Error(laa::codes::kArg, "network input dtype must be float32 or float64");

  const cv::Rect inner(kTestMargin, kTestMargin, bgr_crop.cols - 2 * kTestMargin, bgr_crop.rows - 2 * kTestMargin);
  if (size < 32 || size > 4096) throw laa::Error(laa::codes::kArg, "network input size out of range");
  const cv::Mat warped = affine_align_corners(bgr_crop(inner), size);  // uint8, like the official warp

  // Only 256 distinct inputs: compute (x/255 - 0.5)/0.5 in float64 once each,
  // exactly as ToTensor + Normalize do on the float64 array.
  std::array<double, 256> lut;
  for (int v = 0; v < 256; ++v) lut[v] = (v / 255.0 - 0.5) / 0.5;

  return guarded(laa::codes::kInternal, "input conversion", [&] {
    const int64_t hw = int64_t(size) * size;
    auto fill = [&](auto* out) {
      using T = std::remove_pointer_t<decltype(out)>;
      for (int y = 0; y < size; ++y) {
        const uint8_t* row = warped.ptr<uint8_t>(y);
        T* r = out + int64_t(y) * size;  // R plane (BGR channel 2)
        T* g = r + hw;
        T* b = g + hw;
        for (int x = 0; x < size; ++x) {
          b[x] = static_cast<T>(lut[row[3 * x + 0]]);
          g[x] = static_cast<T>(lut[row[3 * x + 1]]);
          r[x] = static_cast<T>(lut[row[3 * x + 2]]);
        }
      }
    };
    torch::Tensor t = torch::empty({3, size, size}, torch::TensorOptions().dtype(dtype));
    if (dtype == torch::kFloat64) fill(t.data_ptr<double>());
    else fill(t.data_ptr<float>());
    return t;
  });
}

cv::Mat overlay_heatmap(const cv::Mat& bgr, const torch::Tensor& heat) {
  if (bgr.type() != CV_8UC3 || bgr.empty()) throw laa::Error(laa::codes::kArg, "expected an 8-bit BGR image");
  if (!heat.defined() || heat.dim() < 2 || heat.numel() != heat.size(-1) * heat.size(-2) || heat.size(-1) < 2 ||
      heat.size(-2) < 2)
    throw laa::Error(laa::codes::kShape, "heatmap must be one HxW map ([H,W], [1,H,W] or [1,1,H,W])");
  return guarded(laa::codes::kInternal, "heatmap overlay", [&] {
    torch::Tensor h = heat.detach().to(torch::kCPU, torch::kFloat32).reshape({heat.size(-2), heat.size(-1)});
    h = h.clamp(0, 1).contiguous();
    cv::Mat hm(static_cast<int>(h.size(0)), static_cast<int>(h.size(1)), CV_32F, h.data_ptr<float>());
    // Heatmap pixel i sits on input pixel i * (D-1)/(96-1): both are align-corners
    // warps of the same crop, so stretch corner to corner rather than cv::resize.
    cv::Mat m = (cv::Mat_<double>(2, 3) << double(bgr.cols - 1) / (hm.cols - 1), 0, 0, 0,
                 double(bgr.rows - 1) / (hm.rows - 1), 0);
    cv::Mat big;
    cv::warpAffine(hm, big, m, bgr.size(), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
    cv::Mat u8, colour, out;
    big.convertTo(u8, CV_8U, 255.0);
    cv::applyColorMap(u8, colour, cv::COLORMAP_JET);
    cv::addWeighted(bgr, 0.5, colour, 0.5, 0.0, out);
    return out;
  });
}

}  // namespace laa::ops
