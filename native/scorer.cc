#include "scorer.h"

#include <chrono>
#include <cmath>

#include "laanet/errors.h"
#include "ops/crop.h"

namespace laa {

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

void check_abort(const std::atomic<bool>& aborted) {
  if (aborted.load()) throw Error(codes::kAborted, "the operation was aborted");
}

// The network input back to the RGB crop it came from, for heatmap overlays.
torch::Tensor input_to_rgb(const torch::Tensor& chw) {
  return ((chw * 0.5 + 0.5) * 255).round().clamp(0, 255).to(torch::kUInt8).permute({1, 2, 0}).contiguous();
}

}  // namespace

MediaScore score_media(Model& model, ops::FaceDetector& detector, const std::string& path,
                       const ScoreOptions& opts, const ProgressFn& progress,
                       const std::atomic<bool>& aborted, const ComputeFn& compute) {
  if (opts.frames < 1 || opts.batch < 1) throw Error(codes::kArg, "frames and batch must be at least 1");
  MediaScore out;
  auto t = Clock::now();
  out.info = ops::probe(path);
  std::vector<ops::Frame> frames;
  if (out.info.is_video) {
    const auto wanted = ops::sample_indices(out.info.frame_count, opts.frames);
    ops::VideoReader reader(path);
    // Frames past the real end of a stream whose metadata over-counts are
    // simply not delivered.
    reader.read(wanted, [&](ops::Frame& f) {
      frames.push_back(std::move(f));
      progress("decode", int(frames.size()), int(wanted.size()));
      return !aborted.load();
    });
    check_abort(aborted);
  } else {
    ops::Frame f;
    f.bgr = ops::read_image(path);
    frames.push_back(std::move(f));
    progress("decode", 1, 1);
  }
  out.decode_ms = ms_since(t);
  if (frames.empty()) throw Error("EUNSUPPORTED", "'" + path + "' has no decodable frames");

  // Largest face per frame, cropped as the official test pipeline does.
  std::vector<torch::Tensor> inputs;
  std::vector<size_t> owner;  // frame of each input
  out.frames.resize(frames.size());
  for (size_t i = 0; i < frames.size(); ++i) {
    check_abort(aborted);
    auto& fs = out.frames[i];
    fs.index = frames[i].index;
    fs.time_sec = frames[i].time_sec;
    t = Clock::now();
    auto boxes = detector.detect(frames[i].bgr, opts.detect_max_side);
    out.detect_ms += ms_since(t);
    fs.faces_found = int(boxes.size());
    if (!boxes.empty()) {
      t = Clock::now();
      fs.has_face = true;
      fs.box = boxes.front();
      const auto rect = ops::expand_box(fs.box, frames[i].bgr.cols, frames[i].bgr.rows);
      inputs.push_back(ops::to_network_input(ops::face_crop_256(frames[i].bgr, rect)));
      owner.push_back(i);
      out.crop_ms += ms_since(t);
    }
    frames[i].bgr.release();
    progress("detect", int(i + 1), int(frames.size()));
  }
  if (inputs.empty())
    throw Error("ENOFACE", "no face was found in the " + std::to_string(frames.size()) + " sampled frame" +
                               (frames.size() == 1 ? "" : "s") + " of '" + path + "'");

  // The flip test (spec §7): average the logits (and heatmaps, flipped back) of
  // each face and its mirror image.
  t = Clock::now();
  const size_t n = inputs.size();
  for (size_t start = 0; start < n; start += size_t(opts.batch)) {
    check_abort(aborted);
    const size_t end = std::min(n, start + size_t(opts.batch));
    std::vector<torch::Tensor> slice(inputs.begin() + long(start), inputs.begin() + long(end));
    compute([&] {
      torch::InferenceMode guard;
      auto x = torch::stack(slice);
      ForwardRequest req;
      req.input = torch::cat({x, x.flip({3})});
      req.heads = HeadSet{opts.heatmaps, true, false};
      LaaNetOutput o;
      {
        std::lock_guard<std::mutex> lock(model.mutex());
        o = model.forward(req);
      }
      const int64_t b = x.size(0);
      auto cls = o.cls.to(torch::kCPU, torch::kFloat64).view({2, b});
      auto logits = (cls[0] + cls[1]) / 2;
      torch::Tensor heat;
      if (opts.heatmaps) {
        auto hm = o.hm.to(torch::kCPU, torch::kFloat32).view({2, b, kHeatmapSize, kHeatmapSize});
        heat = torch::sigmoid((hm[0] + hm[1].flip({2})) / 2);
      }
      for (int64_t k = 0; k < b; ++k) {
        auto& fs = out.frames[owner[start + size_t(k)]];
        fs.logit = logits[k].item<double>();
        if (opts.heatmaps) {
          fs.heatmap = heat[k].clone();
          fs.crop = input_to_rgb(slice[size_t(k)]);
        }
      }
    });
    progress("infer", int(end), int(n));
  }
  out.infer_ms = ms_since(t);

  double sum = 0;
  for (const auto& fs : out.frames)
    if (fs.has_face) sum += fs.logit;
  out.faces = int(n);
  out.logit = sum / double(n);
  out.score = 1.0 / (1.0 + std::exp(-out.logit));
  return out;
}

}  // namespace laa
