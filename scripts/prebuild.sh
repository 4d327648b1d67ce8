#!/usr/bin/env bash
# npm run prebuild: builds the addon and lays it out in prebuilds/<platform>-<arch>/
# with a JSON record of what it was built against (LibTorch version and source,
# CUDA, C++ ABI). One LibTorch per call; the variants sit side by side:
#   npm run prebuild                                  Debian's libtorch-dev 1.13 (CPU)
#        -> laa-native.napi.glibc.node + laa-native.json         (node-gyp-build's name: the default)
#   LAA_NATIVE_LIBTORCH=python LAA_NATIVE_PYTHON=venv/bin/python npm run prebuild
#        -> laa-native.torch-2.11-cu13.0.addon + laa-native.torch-2.11-cu13.0.json
# The non-default variants end in .addon so node-gyp-build never picks them;
# src/binding/native.ts chooses a variant by the LibTorch found at load time.
# A build against an official CUDA LibTorch (LAA_NATIVE_LIBTORCH=/path) still goes to
# prebuilds/<platform>-<arch>-cuda/ (LAA_NATIVE_VARIANT=cuda loads it).
set -euo pipefail
cd "$(dirname "$0")/.."
source=debian
case "${LAA_NATIVE_LIBTORCH:-}" in
  "") ;;
  python) source=python ;;
  *) source=official ;;
esac
build="${LAA_NATIVE_BUILD_DIR:-build}"
if [ "$source" = python ] && [ -z "${LAA_NATIVE_BUILD_DIR:-}" ]; then build=build-python-torch; fi
LAA_NATIVE_BUILD_DIR="$build" bash scripts/build-native.sh
addon="$build/Release/laa_native.node"
platform=$(node -p "process.platform + '-' + process.arch")
libc=$(node -p "process.report.getReport().header.glibcVersionRuntime ? 'glibc' : 'musl'")
# What the binary says about itself (loaded in a child: its own LibTorch).
info=$(node -e "
const b = require('./$addon').versions();
console.log(JSON.stringify({ libtorch: b.libtorch, source: b.libtorchSource, cuda: b.cudaBuild, cudaVersion: b.cudaVersion || null, cxx11Abi: b.cxx11Abi, opencv: b.opencv, dlib: b.dlib }));
")
out="prebuilds/$platform"
name="laa-native.napi.$libc.node"
json="laa-native.json"
if [ "$source" = python ]; then
  tag=$(node -e "const i = $info; const [a, b] = i.libtorch.split('.'); console.log('torch-' + a + '.' + b + '-' + (i.cuda ? 'cu' + i.cudaVersion : 'cpu'))")
  name="laa-native.$tag.addon"
  json="laa-native.$tag.json"
elif [ "$(node -e "console.log($info.cuda)")" = true ]; then
  out="prebuilds/$platform-cuda"
fi
mkdir -p "$out"
cp "$addon" "$out/$name"
node -e "
const i = $info;
const r = process.report.getReport().header;
const pip = i.source === 'python' ? 'pip install torch==' + i.libtorch : null;
require('fs').writeFileSync('$out/$json', JSON.stringify({
  file: '$name', ...i, glibc: r.glibcVersionRuntime, install: pip ?? (i.source === 'debian' ? 'apt-get install libtorch-dev' : null),
  builtWith: 'node ' + process.versions.node + ', napi ' + process.versions.napi, built: new Date().toISOString(),
}, null, 2) + '\n');
"
echo "laa-native: wrote $out/$name ($out/$json)"
