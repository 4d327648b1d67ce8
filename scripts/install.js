#!/usr/bin/env node
// npm's install hook. Uses a prebuilt binary when one matches this platform
// (prebuilds/<platform>-<arch>/, picked by node-gyp-build) and builds from
// source with cmake-js only when none matches, or when asked:
//   npm install laa-native --build-from-source     (or LAA_NATIVE_BUILD_FROM_SOURCE=1)
// A source build needs cmake, a C++17 compiler and the LibTorch/OpenCV/dlib
// development files (scripts/install-system-deps.sh on Debian/Ubuntu), or an
// official LibTorch through LAA_NATIVE_LIBTORCH=/path/to/libtorch.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const flag = process.env.npm_config_build_from_source;
const fromSource = flag === 'true' || flag === 'laa-native' || process.env.LAA_NATIVE_BUILD_FROM_SOURCE === '1';

if (!fromSource) {
  try {
    const found = require('node-gyp-build').path(root);
    console.log(`laa-native: using ${path.relative(root, found)}`);
    process.exit(0);
  } catch {
    console.log(`laa-native: no prebuilt binary for ${process.platform}-${process.arch}; building from source`);
  }
}

let cmakeJs;
try {
  cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [root] });
} catch {
  console.error(
    'laa-native: cannot build from source: cmake-js is not installed (it is an optional dependency).\n' +
      '  Fix: npm install cmake-js, then npm rebuild laa-native --build-from-source',
  );
  process.exit(1);
}
const env = { ...process.env };
// Debian/Ubuntu's nodejs ships its headers; use them instead of downloading a header tarball.
if (!env.npm_config_nodedir && fs.existsSync('/usr/include/node/node.h')) env.npm_config_nodedir = '/usr';
const jobs = String(require('node:os').availableParallelism());
const r = spawnSync(process.execPath, [cmakeJs, 'compile', '--out', 'build', '-p', jobs], { cwd: root, env, stdio: 'inherit' });
if (r.status !== 0) {
  console.error(
    'laa-native: the source build failed. It needs cmake, g++ and the LibTorch, OpenCV and dlib development files:\n' +
      '  Debian/Ubuntu: bash node_modules/laa-native/scripts/install-system-deps.sh\n' +
      '  another LibTorch: LAA_NATIVE_LIBTORCH=/path/to/libtorch npm rebuild laa-native --build-from-source',
  );
  process.exit(r.status ?? 1);
}
