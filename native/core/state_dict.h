// An ordered list of named tensors: what a checkpoint holds.
#pragma once
#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

namespace laa {

using StateDict = std::vector<std::pair<std::string, torch::Tensor>>;

}  // namespace laa
