// Used by media, synthesis and pipeline: turns the exceptions OpenCV, dlib and the standard
// library throw into laa::Error, so callers (and the Node binding) only ever
// see the project's stable error codes.
#pragma once
#include <new>
#include <string>
#include <utility>

#include <opencv2/core.hpp>

#include "core/errors.h"

namespace laa::ops {

// Runs f(); any non-laa exception becomes laa::Error(code, what + ": " + detail).
// `code` is what a failure most likely means at that call site (ECORRUPT while
// decoding a file, EINTERNAL for pure computation).
template <class F>
auto guarded(const char* code, const std::string& what, F&& f) -> decltype(f()) {
  try {
    return std::forward<F>(f)();
  } catch (const laa::Error&) {
    throw;
  } catch (const cv::Exception& e) {
    // OpenCV reports allocation failures as StsNoMem: that is a size problem.
    if (e.code == cv::Error::StsNoMem) throw laa::Error(laa::codes::kTooLarge, what + ": out of memory");
    throw laa::Error(code, what + ": " + (e.err.empty() ? std::string(e.what()) : e.err));
  } catch (const std::bad_alloc&) {
    throw laa::Error(laa::codes::kTooLarge, what + ": out of memory");
  } catch (const std::exception& e) {  // dlib::error derives from std::exception
    throw laa::Error(code, what + ": " + e.what());
  }
}

}  // namespace laa::ops
