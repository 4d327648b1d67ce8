// Video-domain degradations: what footage goes through between a camera and a
// detector (colour and gamma of the camera, optical and motion blur, sensor
// noise, a lower resolution scaled back up, H.264 or JPEG compression), drawn
// at random for training and set by hand for robustness measurements.
//
// Training applies one draw to both images of an SBI pair after blending, so
// the pair still differs only by the blend: compression, blur or noise is
// never a cue for "fake". Not in the official recipe (it trains on clean
// frames of FaceForensics++ c23); added because the bundled model meets
// compressed video in the wild.
#pragma once
#include <cstdint>
#include <string>

#include <opencv2/core.hpp>

#include "synthesis/synthesis.h"

namespace laa::synth {

// One set of degradations; a field at its neutral value does nothing. Applied
// in the order a video goes through them: colour, blur, noise, resolution,
// compression.
struct Degradation {
  double gain_r = 1, gain_g = 1, gain_b = 1;  // per-channel colour gain (white balance)
  double gamma = 1;                           // out = in^gamma on [0, 1]
  double blur_sigma = 0;                      // Gaussian blur σ in pixels (0: none)
  int motion_length = 0;                      // linear motion blur kernel length in pixels (0/1: none)
  double motion_angle_deg = 0;
  double noise_sigma = 0;                     // Gaussian sensor noise σ on [0, 1] intensities
  double downscale = 1;                       // shrink by this factor, then scale back up (1: none)
  int h264_crf = 0;                           // H.264 (libx264) intra re-encoding at this CRF (0: none)
  int jpeg_quality = 0;                       // JPEG re-encoding at this quality (0: none)
  bool any() const;
  std::string describe() const;  // "crf 35, blur 1.2" ...; "none"
};

// Training draws: with probability `probability` the image is degraded, each
// kind then applied with its own chance, in these ranges: colour gain 0.9–1.1,
// gamma 0.7–1.4, Gaussian blur σ 0.4–2, motion blur 3–9 px, noise σ 0.005–0.03,
// downscale ×1.5–4, H.264 CRF 23–40 or JPEG quality 30–95 (one of the two).
Degradation draw_degradation(Rng& rng, double probability);

// Applies `d` to an RGB (or BGR: colour gains follow the channel order given)
// 8-bit 3-channel image in place; the size does not change (odd sides are
// padded for H.264's 4:2:0 and cut back). Deterministic.
void degrade(cv::Mat& rgb, const Degradation& d);

// One frame through libx264 (veryfast, one thread, intra) at `crf` and back
// through FFmpeg's H.264 decoder. EUNSUPPORTED when this FFmpeg has no libx264.
cv::Mat h264_roundtrip(const cv::Mat& rgb, int crf);

}  // namespace laa::synth
