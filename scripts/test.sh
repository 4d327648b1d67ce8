#!/usr/bin/env bash
# The test command (README, CI): set everything up, then run the suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
npx vitest run "$@"
