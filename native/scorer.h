// Scoring a video or an image end to end, as the official evaluation does
// (spec §6.8, §7): sample frames, keep the largest face, crop, run the network
// on the crop and its horizontal flip, average the logits, and take the sigmoid
// of the mean logit over the frames.
#pragma once
#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "laanet/model.h"
#include "ops/faces.h"
#include "ops/media.h"

namespace laa {

struct ScoreOptions {
  int frames = 32;          // sampled evenly over a video
  bool heatmaps = false;    // also return the 96×96 artifact heatmap per frame
  int batch = 8;            // faces per network call
  int detect_max_side = 640;
};

struct FrameScore {
  int64_t index = 0;
  double time_sec = 0;
  bool has_face = false;
  ops::FaceBox box{};
  int faces_found = 0;
  double logit = 0;          // flip-averaged cls logit
  torch::Tensor heatmap;     // 96×96 float32, sigmoid of the flip-averaged hm (optional)
  torch::Tensor crop;        // 384×384×3 uint8 RGB face crop (kept only with heatmaps)
};

struct MediaScore {
  ops::MediaInfo info;
  std::vector<FrameScore> frames;
  int faces = 0;
  double logit = 0;  // mean over frames with a face
  double score = 0;  // sigmoid(logit) = P(fake)
  double decode_ms = 0, detect_ms = 0, crop_ms = 0, infer_ms = 0;
};

using ProgressFn = std::function<void(const char* stage, int done, int total)>;
// Runs a piece of LibTorch work (the binding sends it to its compute thread).
using ComputeFn = std::function<void(const std::function<void()>&)>;

MediaScore score_media(Model& model, ops::FaceDetector& detector, const std::string& path,
                       const ScoreOptions& opts, const ProgressFn& progress,
                       const std::atomic<bool>& aborted, const ComputeFn& compute);

}  // namespace laa
