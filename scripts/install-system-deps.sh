#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages laa-native builds and runs against.
# Idempotent: installs only what is missing and says what it does.
#   --test   also the tools the test suite and benchmarks use (python3-torch, torchvision; chromium for the HTML
#            report test; clang-14 and libclang-rt-14-dev for the fuzz harnesses)
set -euo pipefail

runtime=(libtorch-dev libopencv-dev libdlib-dev libdlib-data libblas-dev liblapack-dev libopenblas0 ffmpeg)
build=(cmake g++ make ninja-build pkg-config nlohmann-json3-dev libgloo-dev libavcodec-dev libavutil-dev)  # libgloo-dev: the headers c10d's Gloo process group includes; libavcodec-dev: H.264 round trips (synthesis/degrade.cc)
testing=(python3-torch python3-torchvision python3-numpy chromium clang-14 libclang-rt-14-dev)

want=("${runtime[@]}" "${build[@]}")
[[ " $* " == *" --test "* ]] && want+=("${testing[@]}")

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "laa-native: this script needs a Debian-based system (dpkg/apt)." >&2
  echo "Elsewhere install LibTorch, OpenCV 4 and dlib yourself and set LAA_NATIVE_LIBTORCH." >&2
  exit 1
fi

missing=()
for p in "${want[@]}"; do
  if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then :; else missing+=("$p"); fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "laa-native: system packages already installed (${#want[@]} checked)."
  exit 0
fi

echo "laa-native: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "laa-native: run as root or install sudo" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "laa-native: system packages ready."
