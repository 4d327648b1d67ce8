#!/usr/bin/env bash
# npm run sample: set up, then score the bundled clip with the bundled model
# (models/laa-native-lite0-sbi-256.safetensors, in git) and write sample-report.html.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
node lib/cli/main.js score examples/media/talking-head.mp4 --report sample-report.html
