#!/usr/bin/env bash
# npm run sample: set up, then score the bundled clip and write sample-report.html.
# Uses the bundled model when its release artifact is in place (scripts/fetch-model.sh);
# otherwise the untrained fill-rule weights, and says so.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
weights=()
[ -f models/laa-native-sbi-192.safetensors ] || weights=(--weights untrained)
node lib/cli.js score examples/media/talking-head.mp4 --report sample-report.html "${weights[@]}"
