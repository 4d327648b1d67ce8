#include "pipeline/scorer.h"

#include <opencv2/imgproc.hpp>

#include <exception>
#include <mutex>
#include <thread>

#include <cstdlib>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/errors.h"
#include "media/crop.h"

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

double sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

double iou(const ops::FaceBox& a, const ops::FaceBox& b) {
  const double w = std::max(0, std::min(a.right, b.right) - std::max(a.left, b.left));
  const double h = std::max(0, std::min(a.bottom, b.bottom) - std::max(a.top, b.top));
  const double inter = w * h;
  return inter / double(a.area() + b.area() - inter);
}

// Links faces across frames into people: each face joins the person whose
// last box overlaps it most (IoU >= 0.3, one face per person per frame), or
// starts a new person. Frames are sampled sparsely, so this is overlap, not
// motion, tracking; faces that move far between samples split into two people.
std::vector<PersonScore> group_people(std::vector<FrameScore>& frames) {
  constexpr double kMinOverlap = 0.3;
  std::vector<ops::FaceBox> last;  // per person
  std::vector<PersonScore> people;
  for (auto& frame : frames) {
    std::vector<bool> taken(last.size(), false);
    for (auto& face : frame.faces) {
      int best = -1;
      double best_iou = kMinOverlap;
      for (size_t p = 0; p < last.size(); ++p) {
        const double o = taken[p] ? 0 : iou(face.box, last[p]);
        if (o >= best_iou) best = int(p), best_iou = o;
      }
      if (best < 0) {
        best = int(last.size());
        last.push_back(face.box);
        taken.push_back(false);
        people.push_back(PersonScore{best});
      }
      taken[size_t(best)] = true;
      last[size_t(best)] = face.box;
      face.person = best;
      people[size_t(best)].faces++;
      people[size_t(best)].logit += face.logit;
    }
  }
  for (auto& p : people) {
    p.logit /= p.faces;
    p.score = sigmoid(p.logit);
  }
  return people;
}

}  // namespace

MediaScore score_media(Model& model, ops::FaceDetector& detector, const std::string& path,
                       const ScoreOptions& opts, const ProgressFn& progress,
                       const std::atomic<bool>& aborted, const ComputeFn& compute) {
  if (opts.frames < 1 || opts.batch < 1) throw Error(codes::kArg, "frames and batch must be at least 1");
  // Crops go to the size the weights were trained at (their validated
  // `input_size` metadata; the official checkpoints carry none and use 384).
  const int input_size = int(model.input_size());
  if (opts.all_faces && opts.max_faces < 1) throw Error(codes::kArg, "max_faces must be at least 1");
  MediaScore out;
  auto t = Clock::now();
  ops::OpenedMedia media = ops::open_media(path);
  out.info = media.info;
  std::vector<ops::Frame> frames;
  std::vector<double> shrink;  // per held frame: held size / decoded size (1 = as decoded)
  if (out.info.is_video) {
    const auto wanted = ops::sample_indices(out.info.frame_count, opts.frames);
    ops::VideoReader& reader = *media.video;  // the reader that probed it
    // The frames held for detection share a memory budget: each is shrunk to
    // its share (kFrameBudgetBytes / frames) before the next is decoded. Faces
    // are cropped from the held copy; boxes are reported in the video's pixels.
    const double share = double(kFrameBudgetBytes) / double(std::max<size_t>(1, wanted.size()));
    // Frames past the real end of a stream whose metadata over-counts are
    // simply not delivered.
    reader.read(wanted, [&](ops::Frame& f) {
      synth::degrade(f.bgr, opts.perturb);
      const double bytes = double(f.bgr.total()) * double(f.bgr.elemSize());
      double s = 1.0;
      if (bytes > share) {
        s = std::sqrt(share / bytes);
        cv::Mat small;
        cv::resize(f.bgr, small, cv::Size(std::max(1, int(f.bgr.cols * s)), std::max(1, int(f.bgr.rows * s))), 0, 0,
                   cv::INTER_AREA);
        s = double(small.cols) / double(f.bgr.cols);
        f.bgr = small;
      }
      shrink.push_back(s);
      frames.push_back(std::move(f));
      progress("decode", int(frames.size()), int(wanted.size()));
      return !aborted.load();
    });
    check_abort(aborted);
  } else {
    ops::Frame f;
    f.bgr = ops::read_image(path);
    synth::degrade(f.bgr, opts.perturb);
    frames.push_back(std::move(f));
    shrink.push_back(1.0);
    progress("decode", 1, 1);
  }
  out.decode_ms = ms_since(t);
  if (frames.empty()) throw Error(laa::codes::kUnsupported, "'" + path + "' has no decodable frames");

  // Faces per frame, found on detect_threads threads: the HOG scan is
  // single-threaded, and on two cores it took as long as the network.
  t = Clock::now();
  std::vector<std::vector<ops::FaceBox>> found(frames.size());
  {
    const int workers = std::max(1, std::min(opts.detect_threads, int(frames.size())));
    std::atomic<size_t> next{0};
    std::atomic<int> done{0};
    std::mutex failure_mutex;
    std::exception_ptr failure;
    auto scan = [&](ops::FaceDetector& faces, bool reports) {
      try {
        for (size_t i; !aborted.load() && (i = next.fetch_add(1)) < frames.size();) {
          found[i] = faces.detect(frames[i].bgr, opts.detect_max_side);
          const int d = ++done;
          if (reports) progress("detect", d, int(frames.size()));
        }
      } catch (...) {
        std::lock_guard<std::mutex> lock(failure_mutex);
        if (!failure) failure = std::current_exception();
        next.store(frames.size());  // the others stop too
      }
    };
    std::vector<ops::FaceDetector> extra;
    for (int w = 1; w < workers; ++w) extra.emplace_back(detector.spec());
    std::vector<std::thread> pool;
    for (auto& d : extra) pool.emplace_back(scan, std::ref(d), false);
    scan(detector, true);  // progress is reported from this thread only
    for (auto& th : pool) th.join();
    if (failure) std::rethrow_exception(failure);
    check_abort(aborted);
    progress("detect", int(frames.size()), int(frames.size()));
  }
  out.detect_ms = ms_since(t);

  // The official pipeline keeps the largest face; crops as its test pipeline does.
  std::vector<torch::Tensor> inputs;
  std::vector<std::pair<size_t, size_t>> owner;  // (frame, face) of each input
  out.frames.resize(frames.size());
  t = Clock::now();
  for (size_t i = 0; i < frames.size(); ++i) {
    check_abort(aborted);
    auto& fs = out.frames[i];
    fs.index = frames[i].index;
    fs.time_sec = frames[i].time_sec;
    auto& boxes = found[i];
    fs.faces_found = int(boxes.size());
    // One face per frame as the official pipeline; with all_faces the max_faces largest.
    const size_t keep = opts.all_faces ? size_t(opts.max_faces) : 1;
    if (boxes.size() > keep) boxes.resize(keep);
    const double back = 1.0 / shrink[i];  // held-frame pixels -> video pixels
    for (const auto& box : boxes) {
      const auto rect = ops::expand_box(box, frames[i].bgr.cols, frames[i].bgr.rows);
      if (rect.empty()) continue;
      FaceScore face;
      face.box = box;
      if (back != 1.0) {
        face.box.left = int(std::lround(box.left * back));
        face.box.top = int(std::lround(box.top * back));
        face.box.right = int(std::lround(box.right * back));
        face.box.bottom = int(std::lround(box.bottom * back));
      }
      if (opts.landmarks) {
        face.landmarks = opts.landmarks->predict(frames[i].bgr, box);
        for (auto& pt : face.landmarks) pt *= float(back);
      }
      inputs.push_back(ops::to_network_input(ops::face_crop_256(frames[i].bgr, rect), torch::kFloat32, input_size));
      owner.emplace_back(i, fs.faces.size());
      fs.faces.push_back(std::move(face));
    }
    frames[i].bgr.release();
  }
  out.crop_ms = ms_since(t);
  if (inputs.empty())
    throw Error(laa::codes::kNoFace, "no face was found in the " + std::to_string(frames.size()) + " sampled frame" +
                               (frames.size() == 1 ? "" : "s") + " of '" + path + "'");

  // The flip test (official `flip_test`): average the logits (and heatmaps, flipped back) of
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
        auto hm = o.hm.to(torch::kCPU, torch::kFloat32).view({2, b, o.hm.size(-2), o.hm.size(-1)});  // input/4: 96 at 384
        heat = torch::sigmoid((hm[0] + hm[1].flip({2})) / 2);
      }
      for (int64_t k = 0; k < b; ++k) {
        const auto [fi, fj] = owner[start + size_t(k)];
        auto& face = out.frames[fi].faces[fj];
        face.logit = logits[k].item<double>();
        face.score = sigmoid(face.logit);
        if (opts.heatmaps) {
          face.heatmap = heat[k].clone();
          face.crop = input_to_rgb(slice[size_t(k)]);
        }
      }
    });
    progress("infer", int(end), int(n));
  }
  out.infer_ms = ms_since(t);
  out.faces = int(n);

  if (!opts.all_faces) {
    double sum = 0;
    for (const auto& fs : out.frames)
      if (!fs.faces.empty()) sum += fs.faces[0].logit;
    out.logit = sum / double(n);
  } else {
    out.people = group_people(out.frames);
    const auto worst = std::max_element(out.people.begin(), out.people.end(),
                                        [](const PersonScore& a, const PersonScore& b) { return a.logit < b.logit; });
    out.logit = worst->logit;
  }
  out.score = sigmoid(out.logit);
  return out;
}

}  // namespace laa
