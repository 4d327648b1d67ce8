// Tensor element types by name, as the API and weights files spell them.
#pragma once
#include <string>

#include <torch/torch.h>

namespace laa {

// "float32" | "float64" | "bfloat16" | "float16"; EINVAL naming what was received otherwise.
torch::ScalarType parse_dtype(const std::string& name);
std::string dtype_name(torch::ScalarType t);  // inverse of parse_dtype (and the integer types)

// Casts floating point parameters and buffers only (integer buffers keep int64).
void cast_floating(torch::nn::Module& module, torch::ScalarType dtype);

}  // namespace laa
