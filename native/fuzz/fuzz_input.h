// libFuzzer harness helpers: parsers that take a path get the fuzz input
// through an in-memory file (memfd), and only laa::Error, the parsers' own
// typed errors, counts as a handled outcome. Anything else that escapes (a
// LibTorch or nlohmann exception, std::bad_alloc within the fuzzer's memory
// limit) is a finding: the public API would report it as EINTERNAL.
#pragma once
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "core/errors.h"

namespace laa_fuzz {

class MemFile {
 public:
  MemFile(const uint8_t* data, size_t size) {
    fd_ = memfd_create("laa-fuzz", 0);
    if (fd_ < 0) std::abort();
    for (size_t off = 0; off < size;) {
      const ssize_t n = ::write(fd_, data + off, size - off);
      if (n <= 0) std::abort();
      off += size_t(n);
    }
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  ~MemFile() { ::close(fd_); }
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
};

template <class F>
int run(F&& parse) {
  try {
    parse();
  } catch (const laa::Error&) {
    // A typed error: the expected outcome for bad input.
  } catch (const std::exception& e) {
    std::fprintf(stderr, "untyped exception escaped the parser: %s\n", e.what());
    std::abort();
  }
  return 0;
}

}  // namespace laa_fuzz
