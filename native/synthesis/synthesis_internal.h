// Helpers shared by sbi.cc and bi.cc (not part of the trainer contract).
#pragma once
#include <vector>

#include <opencv2/core.hpp>

#include "synthesis/synthesis.h"

namespace laa::synth {

inline constexpr int kMinFaceSide = 64;       // the SBI margin crop takes up to 2·24 px
inline constexpr int kMaxFaceSide = 4096;
inline constexpr int kMaxOutputSize = 2048;

// One standard normal draw (Box–Muller) from `rng`.
double normal(Rng& rng);

// Turns OpenCV's internal threading off, once per process (see synthesis.cc).
void serial_opencv();

// EINVAL unless `rgb` is a CV_8UC3 image of a sensible size and `landmarks`
// holds >= 68 finite points; returns the first 68 (the dlib set).
std::vector<cv::Point2f> check_face(const cv::Mat& rgb, const std::vector<cv::Point2f>& landmarks, const char* what);
void check_options(const PairOptions& opt);

// uint8 trunc(255·4M(1−M)) of a CV_32FC1 mask M in [0, 1].
cv::Mat boundary_u8(const cv::Mat& m);

// Warp with the align-corners matrix (crop.h) to size², linear, zero border.
cv::Mat final_warp(const cv::Mat& src, const cv::Mat& matrix, int size);

}  // namespace laa::synth
