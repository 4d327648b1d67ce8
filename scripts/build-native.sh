#!/usr/bin/env bash
# Builds build/Release/laa_native.node with cmake-js (LibTorch, OpenCV, dlib);
# LAA_NATIVE_BUILD_DIR names another build folder (one per LibTorch).
set -euo pipefail
cd "$(dirname "$0")/.."
# Debian's nodejs ships its headers in /usr/include/node: use them instead of
# downloading a header tarball.
if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node.h ]; then
  export npm_config_nodedir=/usr
fi
jobs=$(nproc 2>/dev/null || echo 2)
exec ./node_modules/.bin/cmake-js compile --out "${LAA_NATIVE_BUILD_DIR:-build}" -p "$jobs" "$@"
