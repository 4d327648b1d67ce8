#include "media/image_header.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <vector>

#include "core/errors.h"

namespace laa::ops {
namespace {

// Random-access reads that return fewer bytes (never throw) past the end, so
// every parser below degrades to "unknown" on a truncated file.
class ByteFile {
 public:
  explicit ByteFile(const std::string& path) : in_(path, std::ios::binary | std::ios::ate) {
    if (!in_) throw laa::Error(laa::codes::kNotFound, "cannot open " + path);
    size_ = static_cast<uint64_t>(in_.tellg());
  }
  uint64_t size() const { return size_; }
  std::vector<uint8_t> read(uint64_t offset, size_t n) {
    std::vector<uint8_t> buf(n);
    in_.clear();
    in_.seekg(static_cast<std::streamoff>(offset));
    if (!in_) return {};
    in_.read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(n));
    buf.resize(static_cast<size_t>(in_.gcount()));
    return buf;
  }

 private:
  std::ifstream in_;
  uint64_t size_ = 0;
};

uint32_t be16(const uint8_t* p) { return (uint32_t(p[0]) << 8) | p[1]; }
uint32_t be32(const uint8_t* p) { return (be16(p) << 16) | be16(p + 2); }
uint32_t le16(const uint8_t* p) { return (uint32_t(p[1]) << 8) | p[0]; }
uint32_t le32(const uint8_t* p) { return (le16(p + 2) << 16) | le16(p); }
uint32_t le24(const uint8_t* p) { return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16); }

// Every chunk's length against what the file holds, up to IEND.
void walk_png_chunks(ByteFile& f, ImageHeader& h) {
  uint64_t pos = 8;
  for (int n = 0; n < (1 << 20) && pos < f.size(); ++n) {
    auto c = f.read(pos, 8);
    if (c.size() < 8) {
      h.damage = "the file ends inside a chunk header";
      return;
    }
    const uint64_t len = be32(&c[0]);
    std::string type(reinterpret_cast<const char*>(&c[4]), 4);
    for (char& ch : type)
      if (!std::isalpha(static_cast<unsigned char>(ch))) ch = '?';
    if (len > 0x7fffffffu || len + 12 > f.size() - pos) {
      h.damage = "chunk '" + type + "' claims " + std::to_string(len) + " bytes, but the file holds " +
                 std::to_string(f.size() - pos) + " from there";
      return;
    }
    if (std::islower(static_cast<unsigned char>(c[4]))) h.largest_ancillary = std::max<int64_t>(h.largest_ancillary, int64_t(len));
    if (type == "IEND") return;
    pos += 12 + len;
  }
}

bool starts_with(const std::vector<uint8_t>& b, const char* magic, size_t at = 0) {
  size_t n = std::strlen(magic);
  return b.size() >= at + n && std::memcmp(b.data() + at, magic, n) == 0;
}

// Walks IFD0 of a TIFF structure for width (256), height (257) and
// orientation (274). `at(offset, n)` returns up to n bytes of the structure
// (a whole TIFF file, whose IFD often sits after the pixel data, or the
// payload of a JPEG Exif segment).
template <class ReadAt>
void parse_tiff_ifd0(ReadAt at, ImageHeader& h) {
  auto hdr = at(0, 8);
  if (hdr.size() < 8) return;
  bool le;
  if (hdr[0] == 'I' && hdr[1] == 'I') le = true;
  else if (hdr[0] == 'M' && hdr[1] == 'M') le = false;
  else return;
  auto u16 = [&](const uint8_t* p) { return le ? le16(p) : be16(p); };
  auto u32 = [&](const uint8_t* p) { return le ? le32(p) : be32(p); };
  if (u16(&hdr[2]) != 42) return;
  const uint64_t ifd = u32(&hdr[4]);
  auto count = at(ifd, 2);
  if (count.size() < 2) return;
  const uint32_t n = u16(&count[0]);
  auto t = at(ifd + 2, 12 * size_t(n));
  for (uint32_t i = 0; i < n && 12 * size_t(i) + 12 <= t.size(); ++i) {
    const uint8_t* e = &t[12 * size_t(i)];
    uint32_t tag = u16(e), type = u16(e + 2);
    // Value sits in the entry itself for SHORT (3) and LONG (4) scalars.
    int64_t v = type == 3 ? int64_t(u16(e + 8)) : type == 4 ? int64_t(u32(e + 8)) : -1;
    if (v < 0) continue;
    if (tag == 256) h.width = v;
    else if (tag == 257) h.height = v;
    else if (tag == 274 && v >= 1 && v <= 8) h.orientation = int(v);
  }
}

std::vector<uint8_t> slice(const std::vector<uint8_t>& b, uint64_t offset, size_t n) {
  if (offset >= b.size()) return {};
  auto first = b.begin() + static_cast<std::ptrdiff_t>(offset);
  return std::vector<uint8_t>(first, first + static_cast<std::ptrdiff_t>(std::min<uint64_t>(n, b.size() - offset)));
}

void parse_jpeg(ByteFile& f, ImageHeader& h) {
  uint64_t pos = 2;  // after SOI
  // Each step moves forward by at least 2 bytes; the cap bounds pathological files.
  for (int step = 0; step < 100000; ++step) {
    auto m = f.read(pos, 4);
    if (m.size() < 2 || m[0] != 0xFF) return;
    uint8_t marker = m[1];
    if (marker == 0xFF) { ++pos; continue; }  // fill byte
    if (marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) { pos += 2; continue; }
    if (marker == 0xD9 || marker == 0xDA) return;  // EOI / start of scan before any SOF
    if (m.size() < 4) return;
    uint32_t len = be16(&m[2]);
    if (len < 2) return;
    bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (sof) {
      auto s = f.read(pos + 4, 5);
      if (s.size() < 5) return;
      h.height = be16(&s[1]);
      h.width = be16(&s[3]);
      if (h.height == 0) h.height = -1;  // defined later by a DNL marker: unknown here
      return;
    }
    if (marker == 0xE1 && len > 8) {  // APP1: Exif orientation
      auto a = f.read(pos + 4, len - 2);
      if (starts_with(a, "Exif") && a.size() > 6) {
        ImageHeader tmp;
        parse_tiff_ifd0([&](uint64_t o, size_t n) { return slice(a, 6 + o, n); }, tmp);
        h.orientation = tmp.orientation;
      }
    }
    pos += 2 + len;
  }
}

// PNM / PFM: magic, then whitespace- and comment-separated ASCII width and height.
void parse_pnm(const std::vector<uint8_t>& b, ImageHeader& h) {
  size_t i = 2;
  int64_t vals[2] = {-1, -1};
  for (int k = 0; k < 2; ++k) {
    while (i < b.size()) {
      if (b[i] == '#') { while (i < b.size() && b[i] != '\n') ++i; }
      else if (std::isspace(b[i])) ++i;
      else break;
    }
    if (i >= b.size() || !std::isdigit(b[i])) return;
    int64_t v = 0;
    while (i < b.size() && std::isdigit(b[i]) && v < (int64_t(1) << 40)) v = v * 10 + (b[i++] - '0');
    vals[k] = v;
  }
  h.width = vals[0];
  h.height = vals[1];
}

void parse_webp(const std::vector<uint8_t>& b, ImageHeader& h) {
  if (starts_with(b, "VP8 ", 12) && b.size() >= 30) {
    if (b[23] != 0x9D || b[24] != 0x01 || b[25] != 0x2A) return;
    h.width = le16(&b[26]) & 0x3FFF;
    h.height = le16(&b[28]) & 0x3FFF;
  } else if (starts_with(b, "VP8L", 12) && b.size() >= 25) {
    if (b[20] != 0x2F) return;
    uint32_t bits = le32(&b[21]);
    h.width = int64_t(bits & 0x3FFF) + 1;
    h.height = int64_t((bits >> 14) & 0x3FFF) + 1;
  } else if (starts_with(b, "VP8X", 12) && b.size() >= 30) {
    h.width = int64_t(le24(&b[24])) + 1;
    h.height = int64_t(le24(&b[27])) + 1;
  }
}

}  // namespace

ImageHeader read_image_header(const std::string& path) {
  ByteFile f(path);
  ImageHeader h;
  // Every fixed-position header here fits in the first 64 KiB; JPEG and TIFF
  // are followed through the file.
  auto b = f.read(0, 65536);
  if (b.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) {
    h.format = "jpeg";
    parse_jpeg(f, h);
  } else if (starts_with(b, "\x89PNG\r\n\x1a\n")) {
    h.format = "png";
    if (b.size() >= 24 && starts_with(b, "IHDR", 12)) {
      h.width = be32(&b[16]);
      h.height = be32(&b[20]);
    }
    walk_png_chunks(f, h);
  } else if (starts_with(b, "BM") && b.size() >= 26) {
    h.format = "bmp";
    uint32_t hdr = le32(&b[14]);
    if (hdr == 12) {
      h.width = le16(&b[18]);
      h.height = le16(&b[20]);
    } else if (hdr >= 40) {
      h.width = int32_t(le32(&b[18]));
      int32_t hh = int32_t(le32(&b[22]));
      h.height = hh < 0 ? -int64_t(hh) : hh;  // negative = top-down rows
    }
  } else if (starts_with(b, "RIFF") && starts_with(b, "WEBP", 8)) {
    h.format = "webp";
    parse_webp(b, h);
  } else if (starts_with(b, "II*\0") || starts_with(b, "MM\0*")) {
    h.format = "tiff";
    parse_tiff_ifd0([&](uint64_t o, size_t n) { return f.read(o, n); }, h);
  } else if (b.size() >= 3 && b[0] == 'P' &&
             ((b[1] >= '1' && b[1] <= '6') || b[1] == 'f' || b[1] == 'F') && std::isspace(b[2])) {
    h.format = "pnm";
    parse_pnm(b, h);
  } else if (b.size() >= 12 && be32(&b[0]) == 0x59A66A95) {
    h.format = "sunras";
    h.width = be32(&b[4]);
    h.height = be32(&b[8]);
  }
  return h;
}

bool looks_like_video_container(const std::string& path) {
  ByteFile f(path);
  auto b = f.read(0, 12);
  if (b.size() < 4) return false;
  if (b.size() >= 8 && (starts_with(b, "ftyp", 4) || starts_with(b, "moov", 4) || starts_with(b, "mdat", 4) ||
                        starts_with(b, "free", 4) || starts_with(b, "wide", 4)))
    return true;                                              // ISO BMFF: MP4, MOV, 3GP
  if (be32(&b[0]) == 0x1A45DFA3) return true;                 // EBML: Matroska, WebM
  if (starts_with(b, "RIFF") && starts_with(b, "AVI ", 8)) return true;
  if (starts_with(b, "FLV")) return true;
  if (starts_with(b, "OggS")) return true;
  if (b[0] == 0x47 && b.size() >= 1) {                        // MPEG-TS sync byte, confirmed at 188
    auto s = f.read(188, 1);
    if (!s.empty() && s[0] == 0x47) return true;
  }
  if (be32(&b[0]) == 0x000001BA) return true;                 // MPEG-PS pack header
  if (be32(&b[0]) == 0x3026B275) return true;                 // ASF / WMV
  return false;
}

}  // namespace laa::ops
