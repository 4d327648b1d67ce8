// safetensors header and data (laa::read_safetensors).
#include "fuzz_input.h"
#include "weights/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  laa_fuzz::MemFile f(data, size);
  return laa_fuzz::run([&] { laa::read_safetensors(f.path()); });
}
