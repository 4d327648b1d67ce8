#!/usr/bin/env bash
# npm run prebuild: builds the addon and lays it out as node-gyp-build reads
# it, prebuilds/<platform>-<arch>/laa-native.napi[.<libc>].node, with a JSON
# record of what it was built against.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-native.sh
platform=$(node -p "process.platform + '-' + process.arch")
libc=$(node -p "process.report.getReport().header.glibcVersionRuntime ? 'glibc' : 'musl'")
# A build against a CUDA LibTorch goes to prebuilds/<platform>-<arch>-cuda/, which
# node-gyp-build never picks; LAA_NATIVE_VARIANT=cuda loads it (src/native.ts).
cuda=$(node -p "require('./build/Release/laa_native.node').versions().cudaBuild === true")
out="prebuilds/$platform"
if [ "$cuda" = true ]; then out="prebuilds/$platform-cuda"; fi
mkdir -p "$out"
cp build/Release/laa_native.node "$out/laa-native.napi.$libc.node"
node -e "
const b = require('./build/Release/laa_native.node').versions();
const r = process.report.getReport().header;
require('fs').writeFileSync('$out/laa-native.json', JSON.stringify({
  libtorch: b.libtorch, opencv: b.opencv, dlib: b.dlib, cuda: b.cudaBuild, cudaVersion: b.cudaVersion || null,
  glibc: r.glibcVersionRuntime,
  builtWith: 'node ' + process.versions.node + ', napi ' + process.versions.napi, built: new Date().toISOString(),
}, null, 2) + '\n');
"
echo "laa-native: wrote $out/laa-native.napi.$libc.node"
