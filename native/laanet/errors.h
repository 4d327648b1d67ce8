// Errors raised by the native core. Each carries a stable code that the
// Node binding copies onto the JavaScript error (`err.code`).
#pragma once
#include <stdexcept>
#include <string>

namespace laa {

struct Error : std::runtime_error {
  std::string code;
  Error(std::string code_, const std::string& message)
      : std::runtime_error(message), code(std::move(code_)) {}
};

// Codes used across the core. Keep in sync with src/errors.ts.
namespace codes {
inline constexpr const char* kNotFound = "ENOENT";          // a file that does not exist
inline constexpr const char* kCorrupt = "ECORRUPT";         // a file that cannot be parsed
inline constexpr const char* kUnsafe = "EUNSAFE";           // a pickle that asks for code we refuse to run
inline constexpr const char* kWeights = "EWEIGHTS";         // missing / unexpected / mis-shaped keys
inline constexpr const char* kShape = "ESHAPE";             // an input tensor of the wrong shape
inline constexpr const char* kArg = "EINVAL";               // a bad argument
inline constexpr const char* kDevice = "EDEVICE";           // CUDA asked for but unavailable
inline constexpr const char* kAborted = "ABORT_ERR";        // cancelled through an AbortSignal
inline constexpr const char* kInternal = "EINTERNAL";       // anything else from LibTorch
inline constexpr const char* kDistributed = "EDISTRIBUTED"; // a rank died / stopped answering, or no rendezvous
}  // namespace codes

}  // namespace laa
