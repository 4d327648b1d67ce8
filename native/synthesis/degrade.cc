#include "synthesis/degrade.h"

#include <cmath>
#include <cstring>
#include <memory>
#include <sstream>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <libavutil/opt.h>
}

#include "core/errors.h"
#include "core/guard.h"

namespace laa::synth {

bool Degradation::any() const {
  return gain_r != 1 || gain_g != 1 || gain_b != 1 || gamma != 1 || blur_sigma > 0 || motion_length > 1 ||
         noise_sigma > 0 || downscale > 1 || h264_crf > 0 || jpeg_quality > 0;
}

std::string Degradation::describe() const {
  std::ostringstream os;
  os.precision(3);
  const char* sep = "";
  auto add = [&](const std::string& s) { os << sep << s; sep = ", "; };
  if (gain_r != 1 || gain_g != 1 || gain_b != 1) {
    std::ostringstream g;
    g.precision(3);
    g << "colour " << gain_r << "/" << gain_g << "/" << gain_b;
    add(g.str());
  }
  if (gamma != 1) add("gamma " + std::to_string(gamma).substr(0, 4));
  if (blur_sigma > 0) add("blur " + std::to_string(blur_sigma).substr(0, 4));
  if (motion_length > 1) add("motion " + std::to_string(motion_length) + " px");
  if (noise_sigma > 0) add("noise " + std::to_string(noise_sigma).substr(0, 5));
  if (downscale > 1) add("downscale x" + std::to_string(downscale).substr(0, 4));
  if (h264_crf > 0) add("h264 crf " + std::to_string(h264_crf));
  if (jpeg_quality > 0) add("jpeg " + std::to_string(jpeg_quality));
  return sep[0] ? os.str() : "none";
}

Degradation draw_degradation(Rng& rng, double probability) {
  Degradation d;
  // Every draw is made whatever the outcome, so the stream advances the same
  // number of steps for every item (the next draws do not depend on this one).
  const bool on = rng.chance(probability);
  const bool colour = rng.chance(0.5), gamma = rng.chance(0.3), blur = rng.chance(0.3), motion = rng.chance(0.15),
             noise = rng.chance(0.4), scale = rng.chance(0.5), compress = rng.chance(0.85), h264 = rng.chance(0.6);
  const double gr = rng.uniform(0.9, 1.1), gg = rng.uniform(0.9, 1.1), gb = rng.uniform(0.9, 1.1);
  const double gm = std::exp(rng.uniform(std::log(0.7), std::log(1.4)));
  const double bs = rng.uniform(0.4, 2.0);
  const int ml = 3 + 2 * rng.randint(0, 4);  // 3, 5, 7, 9
  const double ma = rng.uniform(0, 180);
  const double ns = std::exp(rng.uniform(std::log(0.005), std::log(0.03)));
  const double ds = rng.uniform(1.5, 4.0);
  const int crf = rng.randint(23, 41);
  const int q = rng.randint(30, 96);
  if (!on) return d;
  if (colour) d.gain_r = gr, d.gain_g = gg, d.gain_b = gb;
  if (gamma) d.gamma = gm;
  if (blur) d.blur_sigma = bs;
  if (motion) d.motion_length = ml, d.motion_angle_deg = ma;
  if (noise) d.noise_sigma = ns;
  if (scale) d.downscale = ds;
  if (compress) (h264 ? d.h264_crf : d.jpeg_quality) = h264 ? crf : q;
  return d;
}

namespace {

struct CodecContextFree {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct FrameFree {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct PacketFree {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
using CodecContext = std::unique_ptr<AVCodecContext, CodecContextFree>;
using Frame = std::unique_ptr<AVFrame, FrameFree>;
using Packet = std::unique_ptr<AVPacket, PacketFree>;

void check(int rc, const char* what) {
  if (rc < 0) {
    char buf[128] = {0};
    av_strerror(rc, buf, sizeof buf);
    throw Error(codes::kInternal, std::string("H.264 round trip: ") + what + ": " + buf);
  }
}

// Motion blur: a line of `length` pixels at `angle`, normalised.
cv::Mat motion_kernel(int length, double angle_deg) {
  cv::Mat k = cv::Mat::zeros(length, length, CV_32F);
  const double c = (length - 1) / 2.0, a = angle_deg * CV_PI / 180.0;
  for (int i = 0; i < length; ++i) {
    const double t = i - c;
    const int x = int(std::lround(c + t * std::cos(a))), y = int(std::lround(c + t * std::sin(a)));
    k.at<float>(y, x) = 1.f;
  }
  return k / cv::sum(k)[0];
}

}  // namespace

cv::Mat h264_roundtrip(const cv::Mat& rgb, int crf) {
  if (rgb.type() != CV_8UC3 || rgb.cols % 2 || rgb.rows % 2 || rgb.empty())
    throw Error(codes::kArg, "H.264 round trip: expected an 8-bit 3-channel image with even sides but received " +
                                 std::to_string(rgb.cols) + "x" + std::to_string(rgb.rows));
  const AVCodec* enc = avcodec_find_encoder_by_name("libx264");
  const AVCodec* dec = avcodec_find_decoder(AV_CODEC_ID_H264);
  if (!enc || !dec) throw Error(codes::kUnsupported, "this FFmpeg has no libx264 encoder or H.264 decoder");
  const int w = rgb.cols, h = rgb.rows;
  cv::Mat yuv;
  cv::cvtColor(rgb, yuv, cv::COLOR_RGB2YUV_I420);  // w×h Y, then U and V planes of (w/2)×(h/2)

  CodecContext ec(avcodec_alloc_context3(enc));
  ec->width = w;
  ec->height = h;
  ec->pix_fmt = AV_PIX_FMT_YUV420P;
  ec->time_base = AVRational{1, 25};
  ec->thread_count = 1;  // one thread: deterministic, and the loader has its own threads
  ec->gop_size = 1;
  av_opt_set(ec->priv_data, "preset", "veryfast", 0);
  av_opt_set(ec->priv_data, "tune", "zerolatency", 0);
  av_opt_set(ec->priv_data, "crf", std::to_string(crf).c_str(), 0);
  av_opt_set(ec->priv_data, "x264-params", "log=-1", 0);  // no per-call statistics on stderr
  check(avcodec_open2(ec.get(), enc, nullptr), "opening libx264");

  Frame in(av_frame_alloc());
  in->format = AV_PIX_FMT_YUV420P;
  in->width = w;
  in->height = h;
  check(av_frame_get_buffer(in.get(), 0), "allocating a frame");
  const uint8_t* src = yuv.data;
  for (int y = 0; y < h; ++y) std::memcpy(in->data[0] + y * in->linesize[0], src + y * w, size_t(w));
  src += size_t(w) * h;
  for (int p = 1; p <= 2; ++p, src += size_t(w / 2) * (h / 2))
    for (int y = 0; y < h / 2; ++y) std::memcpy(in->data[p] + y * in->linesize[p], src + y * (w / 2), size_t(w / 2));
  in->pts = 0;

  std::vector<Packet> packets;
  auto drain_encoder = [&] {
    for (;;) {
      Packet pkt(av_packet_alloc());
      const int rc = avcodec_receive_packet(ec.get(), pkt.get());
      if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return;
      check(rc, "encoding");
      packets.push_back(std::move(pkt));
    }
  };
  check(avcodec_send_frame(ec.get(), in.get()), "encoding");
  drain_encoder();
  check(avcodec_send_frame(ec.get(), nullptr), "flushing the encoder");
  drain_encoder();

  CodecContext dc(avcodec_alloc_context3(dec));
  dc->thread_count = 1;
  check(avcodec_open2(dc.get(), dec, nullptr), "opening the H.264 decoder");
  Frame out(av_frame_alloc());
  bool got = false;
  auto drain_decoder = [&] {
    for (;;) {
      const int rc = avcodec_receive_frame(dc.get(), out.get());
      if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return;
      check(rc, "decoding");
      got = true;
      return;
    }
  };
  for (auto& p : packets) {
    check(avcodec_send_packet(dc.get(), p.get()), "decoding");
    if (!got) drain_decoder();
  }
  if (!got) {
    check(avcodec_send_packet(dc.get(), nullptr), "flushing the decoder");
    drain_decoder();
  }
  if (!got || out->width != w || out->height != h || out->format != AV_PIX_FMT_YUV420P)
    throw Error(codes::kInternal, "H.264 round trip: the decoder returned no " + std::to_string(w) + "x" +
                                      std::to_string(h) + " yuv420p frame");
  cv::Mat back(h * 3 / 2, w, CV_8UC1);
  uint8_t* dst = back.data;
  for (int y = 0; y < h; ++y) std::memcpy(dst + y * w, out->data[0] + y * out->linesize[0], size_t(w));
  dst += size_t(w) * h;
  for (int p = 1; p <= 2; ++p, dst += size_t(w / 2) * (h / 2))
    for (int y = 0; y < h / 2; ++y) std::memcpy(dst + y * (w / 2), out->data[p] + y * out->linesize[p], size_t(w / 2));
  cv::Mat result;
  cv::cvtColor(back, result, cv::COLOR_YUV2RGB_I420);
  return result;
}

void degrade(cv::Mat& rgb, const Degradation& d) {
  if (rgb.type() != CV_8UC3 || rgb.empty())
    throw Error(codes::kArg, "degrade: expected an 8-bit 3-channel image");
  if (!d.any()) return;
  ops::guarded(codes::kInternal, "degrading an image", [&] {
    const cv::Size size = rgb.size();
    if (d.gain_r != 1 || d.gain_g != 1 || d.gain_b != 1 || d.gamma != 1) {
      // One lookup table per channel: gain, then gamma, on [0, 1].
      const double gains[3] = {d.gain_r, d.gain_g, d.gain_b};
      std::vector<cv::Mat> ch;
      cv::split(rgb, ch);
      for (int c = 0; c < 3; ++c) {
        cv::Mat lut(1, 256, CV_8U);
        for (int v = 0; v < 256; ++v)
          lut.at<uint8_t>(v) = cv::saturate_cast<uint8_t>(255.0 * std::pow(std::min(1.0, v / 255.0 * gains[c]), d.gamma));
        cv::LUT(ch[size_t(c)], lut, ch[size_t(c)]);
      }
      cv::merge(ch, rgb);
    }
    if (d.blur_sigma > 0) cv::GaussianBlur(rgb, rgb, cv::Size(0, 0), d.blur_sigma, d.blur_sigma, cv::BORDER_REFLECT);
    if (d.motion_length > 1) cv::filter2D(rgb, rgb, -1, motion_kernel(d.motion_length, d.motion_angle_deg), cv::Point(-1, -1), 0, cv::BORDER_REFLECT);
    if (d.noise_sigma > 0) {
      // Seeded from the degradation itself: the same image and draw give the same noise.
      cv::RNG noise_rng(uint64_t(d.noise_sigma * 1e9) ^ uint64_t(size.area()) ^ 0x9E3779B97F4A7C15ull);
      cv::Mat n(size, CV_32FC3);
      noise_rng.fill(n, cv::RNG::NORMAL, 0.0, d.noise_sigma * 255.0);
      cv::Mat f;
      rgb.convertTo(f, CV_32FC3);
      f += n;
      f.convertTo(rgb, CV_8UC3);
    }
    if (d.downscale > 1) {
      const cv::Size small(std::max(1, int(std::lround(size.width / d.downscale))), std::max(1, int(std::lround(size.height / d.downscale))));
      cv::Mat s;
      cv::resize(rgb, s, small, 0, 0, cv::INTER_AREA);
      cv::resize(s, rgb, size, 0, 0, cv::INTER_LINEAR);
    }
    if (d.h264_crf > 0) {
      // 4:2:0 needs even sides: odd frames get one replicated row/column, cut off again after.
      const int pad_x = rgb.cols % 2, pad_y = rgb.rows % 2;
      if (pad_x || pad_y) {
        cv::Mat padded;
        cv::copyMakeBorder(rgb, padded, 0, pad_y, 0, pad_x, cv::BORDER_REPLICATE);
        rgb = h264_roundtrip(padded, d.h264_crf)(cv::Rect(0, 0, size.width, size.height)).clone();
      } else {
        rgb = h264_roundtrip(rgb, d.h264_crf);
      }
    }
    if (d.jpeg_quality > 0) {
      // imencode takes BGR: swap so that the chroma planes are the real ones.
      cv::Mat bgr;
      cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
      std::vector<uint8_t> buf;
      cv::imencode(".jpg", bgr, buf, {cv::IMWRITE_JPEG_QUALITY, d.jpeg_quality});
      bgr = cv::imdecode(buf, cv::IMREAD_COLOR);
      cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    }
  });
}

}  // namespace laa::synth
