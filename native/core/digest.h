// Checksums for integrity checks of weights files: CRC-32 (zip records; the
// zip reader in LibTorch is built without its own CRC check) and SHA-256
// (the data section of safetensors files this package writes).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace laa {

// CRC-32 (IEEE 802.3, as zip uses), continuing from `crc` (0 to start).
uint32_t crc32(const void* data, size_t size, uint32_t crc = 0);

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t size);
  std::string hex();  // finishes; lowercase hex of the 32-byte digest

 private:
  void block(const uint8_t* p);
  uint32_t h_[8];
  uint8_t buf_[64];
  size_t used_ = 0;
  uint64_t total_ = 0;
};

}  // namespace laa
