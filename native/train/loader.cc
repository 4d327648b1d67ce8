#include "train/loader.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/errors.h"
#include "train/heatmap_target.h"
#include "synthesis/degrade.h"
#include "synthesis/synthesis.h"

namespace laa {

namespace {

constexpr size_t kCacheLimit = size_t(2) << 30;  // decoded crops kept in memory
constexpr int kAttempts = 4;                     // official __getitem__: a failing item re-draws another
constexpr int kBiPartners = 30;                  // official `best_match` holds the 30 nearest

void shuffle(std::vector<int64_t>& v, synth::Rng& rng) {
  for (int64_t i = int64_t(v.size()) - 1; i > 0; --i) std::swap(v[size_t(i)], v[size_t(rng.randint(0, int(i + 1)))]);
}

// HWC RGB uint8 → CHW float (x/255 − 0.5)/0.5 (official `final_transform`), into `dst`.
void normalise_into(const cv::Mat& rgb, float* dst) {
  const int h = rgb.rows, w = rgb.cols;
  for (int y = 0; y < h; ++y) {
    const uint8_t* row = rgb.ptr<uint8_t>(y);
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) dst[(size_t(c) * h + y) * w + x] = float(row[3 * x + c]) / 127.5f - 1.0f;
  }
}

}  // namespace

TrainLoader::TrainLoader(std::vector<PreparedRecord> records, const LoaderOptions& opts)
    : records_(std::move(records)), opts_(opts) {
  if (opts_.synthesis != "sbi" && opts_.synthesis != "bi")
    throw Error(codes::kArg, "Expected synthesis 'sbi' or 'bi' but received '" + opts_.synthesis + "'");
  if (opts_.batch_items < 1 || opts_.frames_per_video < 1 || opts_.workers < 1 || opts_.prefetch < 1)
    throw Error(codes::kArg, "batch size, frames per video, workers and prefetch must be at least 1");
  if (!(opts_.gain_start >= 1) || opts_.gain_epochs < 0 || (opts_.gain_epochs > 0 && opts_.synthesis != "sbi"))
    throw Error(codes::kArg, "the artifact gain must be ≥ 1 over ≥ 0 epochs, and SBI only (received ×" +
                                 std::to_string(opts_.gain_start) + " over " + std::to_string(opts_.gain_epochs) +
                                 " epochs, synthesis '" + opts_.synthesis + "')");
  if (opts_.world < 1 || opts_.rank < 0 || opts_.rank >= opts_.world || global_rows() < opts_.world)
    throw Error(codes::kArg, "a global batch of " + std::to_string(global_rows()) + " images cannot be shared by " +
                                 std::to_string(opts_.world) + " ranks (rank " + std::to_string(opts_.rank) +
                                 "): every rank needs at least one image");
  std::map<std::string, std::vector<int64_t>> videos;  // sorted ids: the draw does not depend on file order
  for (int64_t i = 0; i < int64_t(records_.size()); ++i) videos[records_[size_t(i)].video].push_back(i);
  for (auto& kv : videos) by_video_.push_back(std::move(kv.second));
  const int64_t per_epoch = int64_t(by_video_.size()) * opts_.frames_per_video;
  steps_per_epoch_ = per_epoch / opts_.batch_items;  // drop_last
  if (steps_per_epoch_ == 0)
    throw Error(codes::kArg, "an epoch draws " + std::to_string(per_epoch) + " frames (" +
                                 std::to_string(by_video_.size()) + " videos × " +
                                 std::to_string(opts_.frames_per_video) + "), fewer than one batch of " +
                                 std::to_string(opts_.batch_items));
  if (opts_.synthesis == "bi") {
    if (by_video_.size() < 2) throw Error(codes::kArg, "BI synthesis needs frames from at least two videos");
    // Nearest landmark configurations from other videos (official
    // `bi_online_generation.py`, search_similar_lms; exhaustive here instead of
    // 10,000 random candidates).
    std::vector<int64_t> video_of(records_.size());
    for (size_t v = 0; v < by_video_.size(); ++v)
      for (int64_t i : by_video_[v]) video_of[size_t(i)] = int64_t(v);
    partners_.resize(records_.size());
    for (size_t a = 0; a < records_.size(); ++a) {
      std::vector<std::pair<double, int64_t>> d;
      for (size_t b = 0; b < records_.size(); ++b) {
        if (video_of[a] == video_of[b]) continue;
        double s = 0;
        for (int k = 0; k < 68; ++k) s += cv::norm(records_[a].landmarks[size_t(k)] - records_[b].landmarks[size_t(k)]);
        d.emplace_back(s, int64_t(b));
      }
      const size_t keep = std::min<size_t>(kBiPartners, d.size());
      std::partial_sort(d.begin(), d.begin() + long(keep), d.end());
      for (size_t k = 0; k < keep; ++k) partners_[a].push_back(d[k].second);
    }
  }
}

TrainLoader::~TrainLoader() { stop(); }

std::vector<int64_t> TrainLoader::draw_epoch(int64_t epoch) const {
  // `datasets/common.py::_sampler`: per video, frames drawn with replacement. The
  // official SBI dataset draws once for the whole run (its reload is a no-op;
  // docs/IMPLEMENTATION.md, Optimisation); a fresh draw per epoch is what that
  // reload was meant to do.
  synth::Rng rng(synth::sample_seed(opts_.seed, epoch, -1));
  std::vector<int64_t> order;
  for (const auto& frames : by_video_)
    for (int64_t k = 0; k < opts_.frames_per_video; ++k) order.push_back(frames[size_t(rng.randint(0, int(frames.size())))]);
  shuffle(order, rng);
  return order;
}

cv::Mat TrainLoader::image(int64_t record) {
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    auto it = cache_.find(record);
    if (it != cache_.end()) return it->second;
  }
  const std::string& path = records_[size_t(record)].image;
  cv::Mat bgr = cv::imread(path, cv::IMREAD_COLOR);
  if (bgr.empty()) throw Error(codes::kCorrupt, "cannot read the prepared crop '" + path + "'");
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  std::lock_guard<std::mutex> lock(cache_mutex_);
  const size_t bytes = rgb.total() * rgb.elemSize();
  if (cache_bytes_ + bytes <= kCacheLimit) {
    cache_.emplace(record, rgb);
    cache_bytes_ += bytes;
  }
  return rgb;
}

namespace {
// The curriculum's gain for an epoch (1 outside it).
double artifact_gain(const LoaderOptions& o, int64_t epoch) {
  if (o.gain_epochs <= 0 || epoch >= o.gain_epochs) return 1;
  return o.gain_start + (1 - o.gain_start) * double(epoch) / double(o.gain_epochs);
}

// fake ← real + gain·(fake − real), saturated to uint8. The pair is pixel-aligned
// (same geometry and colour jitter), so the amplified difference is exactly the
// blend's: a stronger version of the same artifact, in the same place.
void amplify_artifact(const cv::Mat& real, cv::Mat& fake, double gain) {
  cv::Mat r, f;
  real.convertTo(r, CV_32F);
  fake.convertTo(f, CV_32F);
  cv::Mat out = r + (f - r) * gain;
  out.convertTo(fake, CV_8U);  // saturate_cast rounds and clamps to [0, 255]
}
}  // namespace

TrainBatch TrainLoader::build(int64_t epoch, int64_t step, const std::vector<int64_t>& order) {
  const double gain = artifact_gain(opts_, epoch);
  synth::PairOptions po;
  po.input_size = int(opts_.input_size);
  po.target_size = int(opts_.input_size / 4);
  po.train = opts_.augment;
  // Rows of the global batch: SBI collates (`train_collate_fn`) the reals,
  // then the fakes, then a random permutation; BI one image per item.
  const bool sbi = opts_.synthesis == "sbi";
  const int64_t items = opts_.batch_items, n = global_rows(), s = opts_.input_size, t = s / 4;
  std::vector<int64_t> perm(static_cast<size_t>(n), 0);
  std::iota(perm.begin(), perm.end(), 0);
  synth::Rng prng(synth::sample_seed(opts_.seed, epoch, -2 - step));
  shuffle(perm, prng);
  const int64_t lo = n * opts_.rank / opts_.world, hi = n * (opts_.rank + 1) / opts_.world;
  std::vector<bool> needed(static_cast<size_t>(items), false);
  for (int64_t k = lo; k < hi; ++k) needed[size_t(perm[size_t(k)] % items)] = true;

  std::vector<cv::Mat> images(static_cast<size_t>(n)), boundaries(static_cast<size_t>(n));
  std::vector<float> labels(static_cast<size_t>(n), 0);
  for (int64_t i = 0; i < items; ++i) {
    if (!needed[size_t(i)]) continue;
    const int64_t g = step * opts_.batch_items + i;
    synth::Rng rng(synth::sample_seed(opts_.seed, epoch, g));
    std::string last_error;
    bool done = false;
    for (int attempt = 0; attempt < kAttempts && !done; ++attempt) {
      const int64_t rec = attempt == 0 ? order[size_t(g)] : order[size_t(rng.randint(0, int(order.size())))];
      try {
        const auto& r = records_[size_t(rec)];
        if (sbi) {
          auto pair = synth::make_sbi_pair(image(rec), r.landmarks, rng, po);
          if (gain != 1) amplify_artifact(pair.real, pair.fake, gain);
          if (opts_.degrade > 0) {
            const synth::Degradation d = synth::draw_degradation(rng, opts_.degrade);
            synth::degrade(pair.real, d);
            synth::degrade(pair.fake, d);
          }
          images[size_t(i)] = pair.real;
          boundaries[size_t(i)] = pair.boundary_real;
          labels[size_t(i)] = 0;
          images[size_t(items + i)] = pair.fake;
          boundaries[size_t(items + i)] = pair.boundary_fake;
          labels[size_t(items + i)] = 1;
        } else {
          const auto& cands = partners_[size_t(rec)];
          const int64_t p = cands[size_t(rng.randint(0, int(cands.size())))];
          auto bi = synth::make_bi_sample(image(rec), r.landmarks, image(p), records_[size_t(p)].landmarks, rng, po);
          if (opts_.degrade > 0) synth::degrade(bi.image, synth::draw_degradation(rng, opts_.degrade));
          images[size_t(i)] = bi.image;
          boundaries[size_t(i)] = bi.boundary;
          labels[size_t(i)] = float(bi.label);
        }
        done = true;
      } catch (const std::exception& e) {
        last_error = e.what();
      }
    }
    if (!done)
      throw Error(codes::kCorrupt, "could not synthesise training item " + std::to_string(g) + " of epoch " +
                                       std::to_string(epoch) + " after " + std::to_string(kAttempts) +
                                       " attempts: " + last_error);
  }
  const int64_t rows = hi - lo;
  TrainBatch b;
  b.input = torch::empty({rows, 3, s, s}, torch::kFloat32);
  b.heatmap = torch::empty({rows, 1, t, t}, torch::kFloat32);
  b.consistency = torch::empty({rows, 1, t, t}, torch::kFloat32);
  b.labels = torch::empty({rows, 1}, torch::kFloat32);
  if (opts_.world > 1) b.offset = lo, b.total = n;
  float* in = b.input.data_ptr<float>();
  for (int64_t k = 0; k < rows; ++k) {
    const size_t src = size_t(perm[size_t(lo + k)]);
    const cv::Mat& img = images[src];
    if (img.rows != s || img.cols != s || img.type() != CV_8UC3)
      throw Error(codes::kInternal, "synthesis returned a " + std::to_string(img.cols) + "x" +
                                        std::to_string(img.rows) + " image, expected " + std::to_string(s));
    normalise_into(img, in + k * 3 * s * s);
    cv::Mat bnd = boundaries[src].isContinuous() ? boundaries[src] : boundaries[src].clone();
    auto targets = encode_targets(torch::from_blob(bnd.data, {t, t}, torch::kUInt8));
    b.heatmap[k].copy_(targets.heatmap);
    b.consistency[k].copy_(targets.consistency);
    b.labels[k][0] = labels[src];
  }
  return b;
}

TrainBatch TrainLoader::make_batch(int64_t epoch, int64_t step) {
  if (step < 0 || step >= steps_per_epoch_)
    throw Error(codes::kArg, "step " + std::to_string(step) + " is outside the epoch (0.." +
                                 std::to_string(steps_per_epoch_ - 1) + ")");
  return build(epoch, step, draw_epoch(epoch));
}

void TrainLoader::begin_epoch(int64_t epoch, int64_t first_step) {
  stop();
  if (first_step < 0 || first_step > steps_per_epoch_)
    throw Error(codes::kArg, "first step " + std::to_string(first_step) + " is outside the epoch");
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = false;
    epoch_ = epoch;
    next_to_make_ = next_to_take_ = first_step;
    order_ = draw_epoch(epoch);
    ready_.clear();
    failed_.clear();
  }
  for (int w = 0; w < opts_.workers; ++w) threads_.emplace_back([this] { worker_loop(); });
}

void TrainLoader::worker_loop() {
  // Each OpenMP-backed LibTorch call in this thread would start its own team:
  // synthesis is single-threaded per sample, the network keeps the cores.
  at::set_num_threads(1);
  for (;;) {
    int64_t step, epoch;
    std::vector<int64_t> order;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [&] {
        return stopping_ || (next_to_make_ < steps_per_epoch_ && next_to_make_ < next_to_take_ + opts_.prefetch);
      });
      if (stopping_) return;
      step = next_to_make_++;
      epoch = epoch_;
      order = order_;
    }
    TrainBatch b;
    std::exception_ptr err;
    try {
      b = build(epoch, step, order);
    } catch (...) {
      err = std::current_exception();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    if (err) failed_[step] = err;
    else ready_[step] = std::move(b);
    cv_.notify_all();
  }
}

TrainBatch TrainLoader::next() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (epoch_ < 0) throw Error(codes::kInternal, "begin_epoch() was not called");
  if (next_to_take_ >= steps_per_epoch_) throw Error(codes::kArg, "the epoch has no more batches");
  const int64_t want = next_to_take_;
  cv_.wait(lock, [&] { return ready_.count(want) || failed_.count(want) || stopping_; });
  if (stopping_) throw Error(codes::kAborted, "the loader was stopped");
  if (failed_.count(want)) {
    auto err = failed_[want];
    failed_.erase(want);
    ++next_to_take_;
    cv_.notify_all();
    std::rethrow_exception(err);
  }
  TrainBatch b = std::move(ready_[want]);
  ready_.erase(want);
  ++next_to_take_;
  cv_.notify_all();
  return b;
}

void TrainLoader::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

}  // namespace laa
