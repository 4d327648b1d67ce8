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

// Every code the addon raises: the one list on the C++ side. src/binding/errors.ts
// holds the JavaScript one (ERROR_CODES); test/errors.test.ts checks that they agree
// through the addon's errorCodes().
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
inline constexpr const char* kUnsupported = "EUNSUPPORTED"; // not a readable image/video, or a feature this build/CPU lacks
inline constexpr const char* kTooLarge = "ETOOLARGE";       // above a pixel or memory budget
inline constexpr const char* kDisposed = "EDISPOSED";       // a call on a disposed object
inline constexpr const char* kNoFace = "ENOFACE";           // no face in any sampled frame
inline constexpr const char* kNoMemory = "ENOMEM";          // an allocation failed
inline constexpr const char* kBinding = "EBINDING";         // the addon cannot run against the LibTorch it loaded

// All of the above, for the binding's errorCodes().
inline constexpr const char* kAll[] = {kNotFound, kCorrupt, kUnsafe,      kWeights, kShape,   kArg,      kDevice,  kAborted,
                                       kInternal, kDistributed, kUnsupported, kTooLarge, kDisposed, kNoFace, kNoMemory, kBinding};
}  // namespace codes

}  // namespace laa
