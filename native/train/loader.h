// Training data: the prepared index (laa-native prepare: aligned 256² face
// crops + 68 landmarks), the per-epoch frame draw, and loader threads that
// synthesise batches (SBI pairs or BI samples) ahead of the network.
// A batch is a pure function of (seed, epoch, step), so a resumed run sees
// exactly the batches the interrupted one would have seen.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <opencv2/core.hpp>

#include "train/batch.h"

namespace laa {

struct PreparedRecord {
  std::string image;  // absolute path of the aligned crop
  std::string video;  // video id: frames are drawn per video (`datasets/common.py::_sampler`)
  std::vector<cv::Point2f> landmarks;  // 68 points, aligned crop coordinates
};

// The records come from readPreparedIndex (src/data/prepare.ts), the one reader of
// index.jsonl, through the binding.

struct LoaderOptions {
  std::string synthesis = "sbi";  // "sbi" (each item: real + its self-blend) | "bi"
  int64_t batch_items = 8;        // SBI: 8 items → 16 images per step (configs/efn4_fpn_sbi_adv.yaml)
  int64_t frames_per_video = 8;   // drawn with replacement per epoch (`_sampler`, SAMPLES_PER_VIDEO train)
  int64_t input_size = 384;
  uint64_t seed = 317;
  int workers = 1;
  int prefetch = 2;               // batches made ahead of the one in use
  bool augment = true;            // train-time hflip / geometry / colour
  // Artifact-gain curriculum (not in the official recipe; SBI only): each
  // fake's difference from its real is amplified ×gain_start at epoch 0, the
  // gain falling linearly to ×1 at gain_epochs; plain SBI from then on.
  double gain_start = 1;
  int64_t gain_epochs = 0;
  // Video-domain degradations (synthesis/degrade.h; not in the official recipe):
  // the probability that an item is degraded after blending, one draw for both
  // images of an SBI pair. 0: off.
  double degrade = 0;
  // Data-parallel training: this process makes rows [N·rank/world, N·(rank+1)/world)
  // of every global batch of N rows (the batch itself a function of seed,
  // epoch and step only), synthesising only the items those rows come from.
  int rank = 0;
  int world = 1;
};

class TrainLoader {
 public:
  TrainLoader(std::vector<PreparedRecord> records, const LoaderOptions& opts);
  ~TrainLoader();

  int64_t steps_per_epoch() const { return steps_per_epoch_; }
  int64_t videos() const { return int64_t(by_video_.size()); }
  int64_t records() const { return int64_t(records_.size()); }

  // Draws the epoch's frames and starts making batches from `first_step`.
  void begin_epoch(int64_t epoch, int64_t first_step);
  // The next batch in order (blocks until made; rethrows a worker's error).
  TrainBatch next();
  // Makes batch `step` of `epoch` on the calling thread (tests, validation).
  TrainBatch make_batch(int64_t epoch, int64_t step);
  void stop();

 private:
  std::vector<int64_t> draw_epoch(int64_t epoch) const;
  // Images of a global batch: SBI makes a real and a fake per item, BI one image.
  int64_t global_rows() const { return opts_.synthesis == "sbi" ? 2 * opts_.batch_items : opts_.batch_items; }
  TrainBatch build(int64_t epoch, int64_t step, const std::vector<int64_t>& order);
  cv::Mat image(int64_t record);
  void worker_loop();

  std::vector<PreparedRecord> records_;
  std::vector<std::vector<int64_t>> by_video_;
  std::vector<std::vector<int64_t>> partners_;  // BI: nearest-landmark frames of other videos
  LoaderOptions opts_;
  int64_t steps_per_epoch_ = 0;

  // Decoded crops, kept while they fit (a few thousand 256² crops).
  std::mutex cache_mutex_;
  std::map<int64_t, cv::Mat> cache_;
  size_t cache_bytes_ = 0;

  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::thread> threads_;
  bool stopping_ = false;
  int64_t epoch_ = -1, next_to_make_ = 0, next_to_take_ = 0;
  std::vector<int64_t> order_;
  std::map<int64_t, TrainBatch> ready_;
  std::map<int64_t, std::exception_ptr> failed_;
};

}  // namespace laa
