// Image headers read before any decoder runs (JPEG segments, PNG chunks, TIFF IFDs, BMP, WebP, PNM).
#include "fuzz_input.h"
#include "media/image_header.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  laa_fuzz::MemFile f(data, size);
  return laa_fuzz::run([&] {
    auto h = laa::ops::read_image_header(f.path());
    (void)h.display_width();
    (void)laa::ops::looks_like_video_container(f.path());
  });
}
