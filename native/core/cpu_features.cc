#include "core/cpu_features.h"

#include <ATen/Context.h>
#include <dlfcn.h>

#include <cstdint>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define LAA_X86 1
#endif

namespace laa {

namespace {

#ifdef LAA_X86
uint64_t xgetbv0() {
  uint32_t eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (uint64_t(edx) << 32) | eax;
}

void read_cpuid(CpuFeatures& f) {
  unsigned a, b, c, d;
  if (!__get_cpuid(0, &a, &b, &c, &d)) return;
  const unsigned max_leaf = a;
  char vendor[13] = {0};
  std::memcpy(vendor, &b, 4);
  std::memcpy(vendor + 4, &d, 4);
  std::memcpy(vendor + 8, &c, 4);
  f.vendor = vendor;
  if (__get_cpuid(0x80000000, &a, &b, &c, &d) && a >= 0x80000004) {
    unsigned regs[12];
    for (unsigned i = 0; i < 3; ++i) __get_cpuid(0x80000002 + i, &regs[4 * i], &regs[4 * i + 1], &regs[4 * i + 2], &regs[4 * i + 3]);
    char brand[49] = {0};
    std::memcpy(brand, regs, 48);
    f.brand = brand;
    const auto first = f.brand.find_first_not_of(' ');
    f.brand = first == std::string::npos ? "" : f.brand.substr(first);
  }
  __get_cpuid(1, &a, &b, &c, &d);
  const bool osxsave = c & (1u << 27);
  const uint64_t xcr0 = osxsave ? xgetbv0() : 0;
  const bool os_avx = (xcr0 & 0x6) == 0x6;            // XMM, YMM state
  const bool os_avx512 = os_avx && (xcr0 & 0xe0) == 0xe0;  // opmask, ZMM state
  const bool os_amx = (xcr0 & 0x60000) == 0x60000;     // XTILECFG, XTILEDATA
  const bool fma = c & (1u << 12);
  if (max_leaf < 7) return;
  __cpuid_count(7, 0, a, b, c, d);
  const unsigned b7 = b, c7 = c, d7 = d;
  __cpuid_count(7, 1, a, b, c, d);
  const unsigned a71 = a;
  f.avx2 = os_avx && (b7 & (1u << 5));
  f.fma = os_avx && fma;
  f.avx_vnni = os_avx && (a71 & (1u << 4));
  f.avx512f = os_avx512 && (b7 & (1u << 16));
  f.avx512dq = os_avx512 && (b7 & (1u << 17));
  f.avx512bw = os_avx512 && (b7 & (1u << 30));
  f.avx512vl = os_avx512 && (b7 & (1u << 31));
  f.avx512_vnni = os_avx512 && (c7 & (1u << 11));
  f.avx512_bf16 = os_avx512 && (a71 & (1u << 5));
  f.avx512_fp16 = os_avx512 && (d7 & (1u << 23));
  f.amx_bf16 = os_amx && (d7 & (1u << 22));
  f.amx_tile = os_amx && (d7 & (1u << 24));
  f.amx_int8 = os_amx && (d7 & (1u << 25));
}
#endif

// A symbol of the oneDNN that LibTorch loaded: a shared libdnnl (Debian) or
// inside libtorch_cpu (static builds, if it exports it). The addon's
// dependencies are not in the global scope, so each library is looked up.
void* onednn_symbol(const char* name) {
  if (void* s = dlsym(RTLD_DEFAULT, name)) return s;
  std::vector<std::string> libraries = {"libdnnl.so.3", "libdnnl.so.2"};
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&at::show_config), &info) && info.dli_fname) libraries.push_back(info.dli_fname);
  for (const auto& lib : libraries) {
    void* h = dlopen(lib.c_str(), RTLD_LAZY | RTLD_NOLOAD);  // only if already loaded
    if (!h) continue;
    void* s = dlsym(h, name);
    dlclose(h);
    if (s) return s;
  }
  return nullptr;
}

// oneDNN's dnnl_get_effective_cpu_isa() (it honours ONEDNN_MAX_CPU_ISA).
void read_onednn(CpuFeatures& f) {
  using IsaFn = int (*)();
  struct Version { int major, minor, patch; const char* hash; unsigned cpu_runtime, gpu_runtime; };
  using VersionFn = const Version* (*)();
  auto isa_fn = reinterpret_cast<IsaFn>(onednn_symbol("dnnl_get_effective_cpu_isa"));
  if (!isa_fn) return;
  auto version_fn = reinterpret_cast<VersionFn>(onednn_symbol("dnnl_version"));
  const int major = version_fn ? version_fn()->major : 0;
  const unsigned isa = unsigned(isa_fn());
  f.onednn_known = true;
  // The bfloat16 bit pattern is the same in oneDNN 2.x and 3.x (avx512_core_bf16 = 0xe7 and every ISA above it).
  f.onednn_bf16 = (isa & 0xe7u) == 0xe7u;
  struct Name { unsigned v; const char* name; };
  static const Name v2[] = {{0x1, "sse41"}, {0x3, "avx"}, {0x7, "avx2"}, {0x407, "avx2_vnni"}, {0x27, "avx512_core"},
                            {0x67, "avx512_core_vnni"}, {0xe7, "avx512_core_bf16"}, {0x3e7, "avx512_core_amx"}};
  static const Name v3[] = {{0x1, "sse41"}, {0x3, "avx"}, {0x7, "avx2"}, {0xf, "avx2_vnni"}, {0x1f, "avx2_vnni_2"},
                            {0x27, "avx512_core"}, {0x67, "avx512_core_vnni"}, {0xe7, "avx512_core_bf16"},
                            {0x1ef, "avx512_core_fp16"}, {0xfef, "avx512_core_amx"}, {0x1fef, "avx512_core_amx_fp16"}};
  const Name* table = major >= 3 ? v3 : v2;
  const size_t n = major >= 3 ? sizeof v3 / sizeof v3[0] : sizeof v2 / sizeof v2[0];
  std::ostringstream os;
  os << "0x" << std::hex << isa;
  f.onednn_isa = os.str();
  for (size_t i = 0; i < n; ++i)
    if (table[i].v == isa) f.onednn_isa = table[i].name;
}

// ONEDNN_MAX_CPU_ISA (or DNNL_MAX_CPU_ISA) as the user set it, for a oneDNN
// that cannot be asked (linked statically into libtorch_cpu, as in PyPI's torch).
void read_onednn_env(CpuFeatures& f) {
  const char* v = std::getenv("ONEDNN_MAX_CPU_ISA");
  if (!v || !*v) v = std::getenv("DNNL_MAX_CPU_ISA");
  if (!v || !*v) return;
  std::string isa(v);
  for (char& c : isa) c = char(std::tolower(static_cast<unsigned char>(c)));
  static const char* below_bf16[] = {"sse41", "avx", "avx2", "avx2_vnni", "avx2_vnni_2", "avx512_core", "avx512_core_vnni"};
  f.onednn_known = true;
  f.onednn_bf16 = true;
  for (const char* b : below_bf16)
    if (isa == b) f.onednn_bf16 = false;
  f.onednn_isa = isa + " (ONEDNN_MAX_CPU_ISA)";
}

void read_aten(CpuFeatures& f) {
  const std::string config = at::show_config();
  const std::string key = "CPU capability usage: ";
  const auto at = config.find(key);
  if (at == std::string::npos) return;
  const auto end = config.find('\n', at);
  f.aten_capability = config.substr(at + key.size(), end == std::string::npos ? std::string::npos : end - at - key.size());
}

}  // namespace

bool CpuFeatures::native_bf16() const {
  const bool hardware = avx512_bf16 || amx_bf16;
  return hardware && (!onednn_known || onednn_bf16);
}

std::string CpuFeatures::flags() const {
  std::string out;
  auto add = [&](bool on, const char* name) {
    if (on) out += (out.empty() ? "" : " ") + std::string(name);
  };
  add(avx2, "avx2");
  add(fma, "fma");
  add(avx_vnni, "avx_vnni");
  add(avx512f, "avx512f");
  add(avx512bw, "avx512bw");
  add(avx512vl, "avx512vl");
  add(avx512dq, "avx512dq");
  add(avx512_vnni, "avx512_vnni");
  add(avx512_bf16, "avx512_bf16");
  add(avx512_fp16, "avx512_fp16");
  add(amx_tile, "amx_tile");
  add(amx_bf16, "amx_bf16");
  add(amx_int8, "amx_int8");
  return out.empty() ? "none of avx2/avx512/amx" : out;
}

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = [] {
    CpuFeatures f;
#ifdef LAA_X86
    read_cpuid(f);
#endif
    read_onednn(f);
    if (!f.onednn_known) read_onednn_env(f);
    read_aten(f);
    return f;
  }();
  return features;
}

}  // namespace laa
