#include "core/dtypes.h"

#include "core/errors.h"

namespace laa {

torch::ScalarType parse_dtype(const std::string& name) {
  if (name == "float32") return torch::kFloat32;
  if (name == "float64") return torch::kFloat64;
  if (name == "bfloat16") return torch::kBFloat16;
  if (name == "float16") return torch::kFloat16;
  throw Error(codes::kArg,
              "Expected dtype 'float32', 'float64', 'bfloat16' or 'float16' but received '" + name + "'");
}

std::string dtype_name(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat32: return "float32";
    case torch::kFloat64: return "float64";
    case torch::kBFloat16: return "bfloat16";
    case torch::kFloat16: return "float16";
    case torch::kInt64: return "int64";
    case torch::kInt32: return "int32";
    case torch::kInt16: return "int16";
    case torch::kInt8: return "int8";
    case torch::kUInt8: return "uint8";
    case torch::kBool: return "bool";
    default: return c10::toString(t);
  }
}

void cast_floating(torch::nn::Module& module, torch::ScalarType dtype) {
  // Module::to(dtype) would also cast the int64 num_batches_tracked buffers.
  torch::NoGradGuard no_grad;
  for (auto& p : module.parameters())
    if (p.is_floating_point()) p.set_data(p.to(dtype));
  for (auto& b : module.buffers())
    if (b.is_floating_point()) b.set_data(b.to(dtype));
}

}  // namespace laa
