// Scoring a video or an image end to end, as the official evaluation does
// (`scripts/test.py`, `lib/metrics.py`): sample frames, keep the largest face, crop, run the network
// on the crop and its horizontal flip, average the logits, and take the sigmoid
// of the mean logit over the frames.
#pragma once
#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "model/model.h"
#include "media/faces.h"
#include "media/media.h"
#include "synthesis/degrade.h"

namespace laa {

// Decoded frames held at once (for detection on several threads) stay within
// this many bytes: larger frames are shrunk on arrival (an 8000×8000 clip
// scored at 32 frames held 7.4 GB before).
inline constexpr int64_t kFrameBudgetBytes = int64_t(512) << 20;

struct ScoreOptions {
  int frames = 32;          // sampled evenly over a video
  bool heatmaps = false;    // also return the artifact heatmap per face (input/4: 96×96 at 384)
  int batch = 8;            // faces per network call
  int detect_max_side = 640;
  int detect_threads = 1;   // frames searched for faces at once (dlib's HOG scan is single-threaded)
  bool all_faces = false;   // score every face, grouped into people across frames
  int max_faces = 32;       // with all_faces: the largest this many per frame (faces_found counts all)
  const ops::LandmarkPredictor* landmarks = nullptr;  // also return 68 landmarks per face
  // Applied to every decoded frame before detection (robustness measurements,
  // calibration on degraded copies of real videos); none by default.
  synth::Degradation perturb;
};

struct FaceScore {
  ops::FaceBox box{};
  double logit = 0;          // flip-averaged cls logit
  double score = 0;          // sigmoid(logit) = P(fake) for this face
  int person = 0;            // track id across frames (all_faces)
  torch::Tensor heatmap;     // (input/4)² float32, sigmoid of the flip-averaged hm (optional)
  torch::Tensor crop;        // input²×3 uint8 RGB face crop (kept only with heatmaps)
  std::vector<cv::Point2f> landmarks;
};

struct FrameScore {
  int64_t index = 0;
  double time_sec = 0;
  int faces_found = 0;
  std::vector<FaceScore> faces;  // the largest first; only it unless all_faces
};

struct PersonScore {
  int id = 0;
  int faces = 0;
  double logit = 0;  // mean over the frames the person appears in
  double score = 0;
};

struct MediaScore {
  ops::MediaInfo info;
  std::vector<FrameScore> frames;
  std::vector<PersonScore> people;  // all_faces only
  int faces = 0;     // faces scored
  double logit = 0;  // mean over frames of the largest face; with all_faces, the most fake person's
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
