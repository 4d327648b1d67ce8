// Which LibTorch the addon runs on, as opposed to the one it was compiled
// against: a different LibTorch found at load time (an official distribution
// swapped in, LD_LIBRARY_PATH) must stop with an explanation, not crash later.
#pragma once

#include <string>

namespace laa_node {

// TORCH_VERSION as recorded inside the loaded libtorch_cpu (its build options),
// e.g. "1.13.0"; empty when the library does not say.
std::string runtime_torch_version();

// The file libtorch_cpu was loaded from.
std::string loaded_torch_library();

// Empty when a binary built against `built` can run on `runtime` (same major.minor:
// LibTorch keeps no C++ ABI across minor releases); otherwise what is wrong and what to do.
std::string torch_version_mismatch(const std::string& built, const std::string& runtime,
                                   const std::string& library);

}  // namespace laa_node
