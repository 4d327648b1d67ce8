#!/usr/bin/env bash
# Fresh machine to working checkout: system packages, npm packages, native
# addon and TypeScript build. Safe to rerun.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh "$@"
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
bash scripts/build-native.sh
rm -rf lib  # no stale outputs of moved or deleted sources
npx tsc -p tsconfig.json
echo "laa-native: built $(ls build/Release/*.node)"
