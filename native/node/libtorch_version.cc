#include "node/libtorch_version.h"

#include <dlfcn.h>

#include <ATen/Version.h>
#include <regex>

namespace laa_node {

std::string runtime_torch_version() {
  // at::show_config() is compiled into libtorch_cpu itself, so it describes the
  // library actually loaded; its "Build settings" line holds TORCH_VERSION=x.y.z.
  static const std::string version = [] {
    std::smatch m;
    const std::string config = at::show_config();
    return std::regex_search(config, m, std::regex("TORCH_VERSION=([0-9][^,\\s]*)")) ? m[1].str() : std::string();
  }();
  return version;
}

std::string loaded_torch_library() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&at::show_config), &info) && info.dli_fname) return info.dli_fname;
  return "";
}

namespace {
std::string major_minor(const std::string& v) {
  std::smatch m;
  return std::regex_search(v, m, std::regex("^(\\d+)\\.(\\d+)")) ? m[1].str() + "." + m[2].str() : std::string();
}
}  // namespace

std::string torch_version_mismatch(const std::string& built, const std::string& runtime,
                                   const std::string& library) {
  const std::string b = major_minor(built), r = major_minor(runtime);
  if (b.empty() || r.empty() || b == r) return "";  // unknown is not proof of a mismatch
  return "laa-native was built against LibTorch " + built + " but LibTorch " + runtime + " was loaded" +
         (library.empty() ? std::string() : " from " + library) +
         ". LibTorch has no stable C++ ABI across versions. Rebuild the addon against the LibTorch you have "
         "(LAA_NATIVE_LIBTORCH=/path/to/libtorch npm rebuild laa-native --build-from-source), or make LibTorch " +
         built + " the one that loads (check LD_LIBRARY_PATH; the Debian one comes from libtorch-dev).";
}

}  // namespace laa_node
