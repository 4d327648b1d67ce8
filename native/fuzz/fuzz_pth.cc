// Whole .pth files: the zip container (records, CRC-32, sizes) and the legacy format (laa::read_pth).
#include "fuzz_input.h"
#include "weights/pth_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  laa_fuzz::MemFile f(data, size);
  return laa_fuzz::run([&] { laa::read_pth(f.path()); });
}
