// Reads an image's format and dimensions from its header without decoding
// pixels, so a decompression bomb (a 30000×30000 PNG of a few KB) can be
// refused before OpenCV allocates gigabytes for it.
#pragma once
#include <cstdint>
#include <string>

namespace laa::ops {

struct ImageHeader {
  std::string format;   // "jpeg", "png", "bmp", "webp", "tiff", "pnm", "sunras"; "" = not recognised
  int64_t width = -1;   // stored dimensions; -1 when the header does not say (or is cut short)
  int64_t height = -1;
  int orientation = 1;  // EXIF orientation (1..8); 5..8 swap width and height once decoded
  // PNG: what the chunk walk found wrong before any decoder sees the file: a
  // chunk that claims more bytes than the file holds (libpng would allocate
  // what it claims: 2^31 bytes for a 141-byte file), or "" when sound.
  std::string damage;
  // PNG: the largest ancillary chunk (tEXt, iCCP, ...), in bytes.
  int64_t largest_ancillary = 0;
  bool has_dims() const { return width > 0 && height > 0; }
  // Dimensions as cv::imread returns them (after its EXIF rotation).
  int64_t display_width() const { return orientation >= 5 && orientation <= 8 ? height : width; }
  int64_t display_height() const { return orientation >= 5 && orientation <= 8 ? width : height; }
};

// PNG ancillary chunks (text, colour profiles, EXIF) larger than this are
// refused (ETOOLARGE): real files keep them to kilobytes.
inline constexpr int64_t kMaxPngAncillaryBytes = int64_t(16) << 20;

// Looks at the magic bytes and parses the header of the formats listed above.
// Never throws for bad content: an unrecognised or truncated header yields
// format "" or dims -1. Throws laa::Error ENOENT when the file cannot be opened.
ImageHeader read_image_header(const std::string& path);

// Whether the first bytes look like a video container (MP4/MOV, Matroska/WebM,
// AVI, FLV, MPEG-TS/PS, Ogg, ASF). Used to tell a damaged video (ECORRUPT)
// from a file that is not a video at all (EUNSUPPORTED).
bool looks_like_video_container(const std::string& path);

}  // namespace laa::ops
