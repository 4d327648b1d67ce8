// The fixtures' deterministic fill rule (shared/fixtures/README.md, "Weight
// fill rule"): SplitMix64 on x = seed + (t << 32) + i, mapped to u in [0, 1).
// Used for the reference weights and for the loss predictions of the
// targets fixture.
#pragma once
#include <cstdint>

namespace laa {

inline double fill_uniform(uint64_t seed, uint64_t t, uint64_t i) {
  uint64_t z = seed + (t << 32) + i + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z = z ^ (z >> 31);
  return double(z >> 11) * 0x1.0p-53;
}

}  // namespace laa
