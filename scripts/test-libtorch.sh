#!/usr/bin/env bash
# The test suite against another LibTorch, next to the default (Debian's 1.13):
#   bash scripts/test-libtorch.sh python [vitest args]
# Prepares a virtual environment with PyPI's torch (pinned below; its Linux
# wheel is the CUDA build, ~4 GB with its nvidia-* wheels, and its CPU part
# runs without a GPU), builds the addon against it into build-torch211/
# (LAA_NATIVE_LIBTORCH=python), lays out its prebuild variant, and runs the
# whole suite on that build (LAA_NATIVE_BINDING). Reuses what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
kind="${1:-python}"
shift || true
[ "$kind" = python ] || { echo "usage: bash scripts/test-libtorch.sh python [vitest args]" >&2; exit 2; }
TORCH_VERSION=2.11.0     # the pinned PyPI torch (CUDA 13.0 build)
venv=.cache/torch-2.11
start=$(date +%s)
bash scripts/setup.sh --test
if ! "$venv/bin/python" -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '$TORCH_VERSION')" 2>/dev/null; then
  /usr/bin/python3 -m venv "$venv"
  "$venv/bin/pip" install --no-cache-dir "torch==$TORCH_VERSION"
fi
export LAA_NATIVE_LIBTORCH=python LAA_NATIVE_PYTHON="$PWD/$venv/bin/python" LAA_NATIVE_BUILD_DIR=build-torch211
bash scripts/prebuild.sh
export LAA_NATIVE_BINDING="$PWD/build-torch211/Release/laa_native.node"
unset LAA_NATIVE_LIBTORCH LAA_NATIVE_BUILD_DIR
set +e
npx vitest run "$@"
rc=$?
set -e
echo "laa-native: suite on LibTorch $TORCH_VERSION (PyPI) exited $rc after $(( $(date +%s) - start )) s"
exit $rc
