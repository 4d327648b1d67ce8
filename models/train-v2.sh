#!/usr/bin/env bash
# Model v2 (issue #24): the bundled Lite0 model fine-tuned on video-like data (models/prepare-v2-data.sh)
# with the video-domain degradations applied after blending (--degrade). Resumable: rerun the same command
# after a stop (Ctrl-C, a machine change: copy $LAA_RUNS along) and it continues exactly where it stopped.
#   bash models/train-v2.sh [workdir]        (default $LAA_RUNS/v2, LAA_RUNS defaults to ~/laa-runs)
# TRAIN_THREADS (default 1, leaving a core for other work) sets the LibTorch threads; the run is niced.
# Stage A, what runs now: from models/laa-native-lite0-sbi-256.safetensors (v1), plain Adam (rho 0: what
# made v1 learn, twice the steps per hour of SAM), classification loss weighted 10, LR 1e-4 for the first
# quarter of a 24-epoch schedule then linear decay, 80 % of items degraded. dev-eval (8 frames) is scored
# after every epoch: the curve is in $work/runs/v2-a/log.jsonl; dev-eval is never trained on.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
shared=${LAA_SHARED_DIR:-$repo/../shared}
work=${1:-${LAA_RUNS:-$HOME/laa-runs}/v2}
[ -f "$work/prepared/index.jsonl" ] && [ -f "$work/heldout-prepared/index.jsonl" ] || bash "$repo/models/prepare-v2-data.sh" "$work"
resume() { [ -f "$1/checkpoint.safetensors" ] && echo --resume || true; }
common=(--backbone efficientnet-lite0 --input-size 256 --batch-size 8 --frames-per-video 2
  --threads "${TRAIN_THREADS:-1}" --workers 1 --checkpoint-every 20 --precise-bn-steps 16
  --eval-real "$shared/data/dev-eval/real" --eval-fake "$shared/data/dev-eval/fake" --eval-frames 8)
stageA=$work/runs/v2-a
nice -n 19 node "$repo/lib/cli/main.js" train "$work/prepared" --out "$stageA" "${common[@]}" --rho 0 \
  --init-weights "$repo/models/laa-native-lite0-sbi-256.safetensors" --epochs 24 --freeze-epochs 0 --lr 1e-4 --lr-booster 1 \
  --lambda-cls 10 --degrade 0.8 --seed 320 --eval-every 1 ${UNTIL_EPOCH:+--until-epoch "$UNTIL_EPOCH"} $(resume "$stageA")
