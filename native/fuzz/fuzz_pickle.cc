// The restricted unpickler on its own (the data.pkl of a zip checkpoint, and each pickle of the legacy format).
#include "fuzz_input.h"
#include "weights/pickle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return laa_fuzz::run([&] {
    size_t used = 0;
    laa::pickle::unpickle(data, size, laa::pickle::Limits(), &used);
    if (used > size) std::abort();
  });
}
