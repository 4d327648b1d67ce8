#include "net/backbones.h"

#include <cmath>
#include <map>

#include "core/errors.h"

namespace laa {

Pad4 static_same_padding(int64_t image_size, int64_t kernel, int64_t stride) {
  const int64_t out = (image_size + stride - 1) / stride;
  const int64_t total = std::max<int64_t>((out - 1) * stride + kernel - image_size, 0);
  return {total / 2, total - total / 2, total / 2, total - total / 2};
}

namespace {

// The B0 stage strings (k, s, e, in, out, repeats) that every member scales.
struct Stage { int64_t k, s, e, in, out, repeats; };
constexpr Stage kB0Stages[7] = {
    {3, 1, 1, 32, 16, 1}, {3, 2, 6, 16, 24, 2}, {5, 2, 6, 24, 40, 2}, {3, 2, 6, 40, 80, 3},
    {5, 1, 6, 80, 112, 3}, {5, 2, 6, 112, 192, 4}, {3, 1, 6, 192, 320, 1}};
// Stages whose last block is reduction_3 (stride 8), _4 (stride 16), _5 (stride 32).
constexpr int kEndpointStages[3] = {2, 4, 6};
constexpr int64_t kDivisor = 8;

struct Params {
  const char* name;
  double width, depth;
  int64_t preset;   // lukemelas image_size
  double dropout;
  bool lite;        // no SE, ReLU6, fixed stem/head and first/last repeats
};

// (width, depth, resolution, dropout) as in lukemelas `efficientnet_params`
// and TF `efficientnet_lite_builder.efficientnet_lite_params`.
constexpr Params kMembers[] = {
    {"efficientnet-b4", 1.4, 1.8, 380, 0.4, false},
    {"efficientnet-lite0", 1.0, 1.0, 224, 0.2, true},
    {"efficientnet-lite1", 1.0, 1.1, 240, 0.2, true},
    {"efficientnet-lite2", 1.1, 1.2, 260, 0.3, true},
};

int64_t round_filters(int64_t filters, double width) {
  const double f = filters * width;
  int64_t n = std::max<int64_t>(kDivisor, (int64_t(f + kDivisor / 2.0) / kDivisor) * kDivisor);
  if (n < 0.9 * f) n += kDivisor;
  return n;
}

BackboneSpec build(const Params& p) {
  BackboneSpec s;
  s.name = p.name;
  s.architecture = "laa-net-" + s.name + "-efpn";
  s.width = p.width;
  s.depth = p.depth;
  s.preset_image_size = p.preset;
  s.imagenet_size = p.preset;
  s.dropout = p.dropout;
  s.act = p.lite ? Activation::kReLU6 : Activation::kSwish;
  s.stem_ch = p.lite ? 32 : round_filters(32, p.width);
  s.head_ch = p.lite ? 1280 : round_filters(1280, p.width);
  s.stem_pad = static_same_padding(p.preset, 3, 2);
  // The stem (stride 2) halves the preset size before the first block.
  int64_t image = (p.preset + 1) / 2;
  for (int i = 0; i < 7; ++i) {
    const Stage& st = kB0Stages[i];
    const bool fixed = p.lite && (i == 0 || i == 6);
    const int64_t repeats = fixed ? st.repeats : int64_t(std::ceil(p.depth * double(st.repeats)));
    // Lite keeps the first stage's input at the unscaled stem width.
    const int64_t in = p.lite && i == 0 ? s.stem_ch : round_filters(st.in, p.width);
    const int64_t out = round_filters(st.out, p.width);
    for (int64_t r = 0; r < repeats; ++r) {
      MBConvArgs a;
      a.index = int64_t(s.blocks.size());
      a.kernel = st.k;
      a.stride = r == 0 ? st.s : 1;
      a.expand = st.e;
      a.in_ch = r == 0 ? in : out;
      a.out_ch = out;
      a.se_ch = p.lite ? 0 : std::max<int64_t>(1, int64_t(a.in_ch * 0.25));
      a.act = s.act;
      a.dw_pad = static_same_padding(image, a.kernel, a.stride);
      s.blocks.push_back(a);
      // lukemelas updates the size after the first block of a stage, so the
      // repeats are padded for the reduced size.
      if (r == 0) image = (image + st.s - 1) / st.s;
    }
    for (int e = 0; e < 3; ++e)
      if (kEndpointStages[e] == i) {
        s.endpoint_blocks[e] = int64_t(s.blocks.size()) - 1;
        s.endpoint_ch[e] = out;
      }
  }
  s.endpoint_ch[3] = s.head_ch;
  return s;
}

const std::map<std::string, BackboneSpec>& family() {
  static const std::map<std::string, BackboneSpec> members = [] {
    std::map<std::string, BackboneSpec> m;
    for (const Params& p : kMembers) m.emplace(p.name, build(p));
    return m;
  }();
  return members;
}

}  // namespace

const std::vector<std::string>& backbone_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const Params& p : kMembers) v.push_back(p.name);
    return v;
  }();
  return names;
}

std::string backbone_list() {
  std::string out;
  for (const auto& n : backbone_names()) out += (out.empty() ? "'" : ", '") + n + "'";
  return out;
}

const BackboneSpec& backbone_spec(const std::string& name) {
  auto it = family().find(name);
  if (it == family().end())
    throw Error(codes::kArg, "Expected backbone " + backbone_list() + " but received '" + name + "'");
  return it->second;
}

const BackboneSpec* backbone_for_architecture(const std::string& architecture) {
  for (const auto& kv : family())
    if (kv.second.architecture == architecture) return &kv.second;
  return nullptr;
}

}  // namespace laa
