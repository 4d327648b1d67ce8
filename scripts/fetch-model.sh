#!/usr/bin/env bash
# Puts the bundled model (models/laa-native-sbi-192.safetensors, 52 MB) in
# place. It is a release artifact, not kept in git: this copies it from
# $LAA_NATIVE_MODEL_DIR (default: ../artifacts beside the checkout) and checks
# its SHA-256 against models/laa-native-sbi-192.safetensors.sha256.
#   bash scripts/fetch-model.sh [--optional]   (--optional: exit 0 when no artifact is found)
# To make it yourself instead: bash models/train-bundled.sh (about 45 min on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
name=laa-native-sbi-192.safetensors
want=$(cut -d' ' -f1 "models/$name.sha256")
check() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$want" ]; }
if check "models/$name"; then echo "laa-native: models/$name is in place"; exit 0; fi
src="${LAA_NATIVE_MODEL_DIR:-../artifacts}/$name"
if check "$src"; then
  cp "$src" "models/$name.tmp" && mv "models/$name.tmp" "models/$name"
  echo "laa-native: copied $src to models/$name"
  exit 0
fi
msg="laa-native: the bundled model is not here: no $src with SHA-256 $want. Set LAA_NATIVE_MODEL_DIR to the folder holding the release artifact $name, or make it with bash models/train-bundled.sh."
if [ "${1:-}" = "--optional" ]; then echo "$msg (continuing without it)"; exit 0; fi
echo "$msg" >&2
exit 1
