#include "net/heads.h"

#include "net/efpn.h"

namespace laa {

namespace nn = torch::nn;

nn::Sequential dense_head(int64_t in, int64_t out) {
  return nn::Sequential(nn::Conv2d(nn::Conv2dOptions(in, kHeadConv, 3).padding(1).bias(true)),
                        decoder_bn(kHeadConv), nn::ReLU(),
                        nn::Conv2d(nn::Conv2dOptions(kHeadConv, out, 1).bias(true)));
}

nn::Sequential cls_head(int64_t in, int64_t out) {
  return nn::Sequential(nn::Conv2d(nn::Conv2dOptions(in, kHeadConv, 3).padding(1).bias(true)),
                        decoder_bn(kHeadConv), nn::ReLU(),
                        nn::AdaptiveAvgPool2d(nn::AdaptiveAvgPool2dOptions(1)), nn::Flatten(),
                        nn::Linear(kHeadConv, out));
}

}  // namespace laa
