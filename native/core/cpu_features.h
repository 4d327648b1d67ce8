// What this CPU can do for the network, and what LibTorch makes of it. The
// instruction sets decide which precisions are fast here: bfloat16 is native
// only with AVX512-BF16 or AMX; elsewhere oneDNN emulates it or falls back to
// reference kernels (measured on an AVX2-only EPYC: 49x slower than float32).
#pragma once
#include <string>

namespace laa {

struct CpuFeatures {
  std::string vendor, brand;  // cpuid, e.g. "GenuineIntel", "AMD EPYC 7B13"
  // Usable instruction sets (CPUID, with the OS saving the registers, XGETBV).
  bool avx2 = false, fma = false, avx_vnni = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false, avx512_vnni = false;
  bool avx512_bf16 = false, avx512_fp16 = false;
  bool amx_tile = false, amx_bf16 = false, amx_int8 = false;
  // What LibTorch's kernels use: oneDNN's effective ISA (its name, "" when the
  // loaded oneDNN does not say) and ATen's vectorised kernels ("AVX2", "AVX512",
  // "DEFAULT", from at::show_config(); "" when absent).
  std::string onednn_isa;
  bool onednn_bf16 = false;  // oneDNN's ISA includes bfloat16 arithmetic
  bool onednn_known = false;
  std::string aten_capability;

  // bfloat16 arithmetic in hardware (AVX512-BF16 or AMX-BF16) that oneDNN is
  // allowed to use (ONEDNN_MAX_CPU_ISA can forbid it).
  bool native_bf16() const;
  // "avx2 fma avx512f ... amx_bf16" for messages and `doctor`.
  std::string flags() const;
};

// Read once per process.
const CpuFeatures& cpu_features();

}  // namespace laa
