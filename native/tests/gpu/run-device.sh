#!/usr/bin/env bash
# The GPU run, on a machine with CUDA, CMake, a C++ compiler and Python torch +
# torchvision (no Node, OpenCV or dlib needed):
#   bash run-device.sh ROOT OUTDIR
# ROOT holds native/ (laa_cuda.cmake and its layers), include/nlohmann/json.hpp and
# reference-a.safetensors. Builds laa_gpu_check against Python's LibTorch
# (CMake; plain g++ if that configure fails; without the autocast timing if
# that part does not compile), runs it, times torchvision's EfficientNet-B4 as
# a yardstick and prints both side by side. Logs go to OUTDIR.
set -u
root=$(cd "$1" && pwd)
out=$2
mkdir -p "$out"
export PYTHONUNBUFFERED=1
here=$root/native/tests/gpu
bd=/tmp/laa-gpucheck
cores=$(nproc)
build_cores=$((cores > 8 ? cores - 4 : cores))
build_cpus=0-$((build_cores - 1))
yard_cpus=$((cores > 8 ? build_cores : 0))-$((cores - 1))
pin() {  # pin CPUS COMMAND...: taskset when there is one
  local cpus=$1; shift
  if command -v taskset > /dev/null; then taskset -c "$cpus" "$@"; else "$@"; fi
}

{
  date -u +%FT%TZ
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader
  python3 -c 'import torch, torchvision; print("python torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version(), "torchvision", torchvision.__version__, "|", torch.cuda.get_device_name(0), "| cxx11abi", torch._C._GLIBCXX_USE_CXX11_ABI)'
  nvcc --version | tail -1
  cmake --version | head -1
  c++ --version | head -1
} > "$out/env.txt" 2>&1
cat "$out/env.txt"

prefix=${LAA_TORCH_PREFIX:-$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')}

# Caffe2Config stops when the cuDNN that torch was built with cannot be found;
# pip ships it in site-packages/nvidia/cudnn, where CMake does not look.
cudnn_hints=$(python3 - << 'PY'
import glob, os
try:
    import nvidia
    roots = list(nvidia.__path__)
except Exception:
    roots = []
inc = [p for r in roots for p in glob.glob(os.path.join(r, '**', 'cudnn.h'), recursive=True)]
lib = [p for r in roots for p in glob.glob(os.path.join(r, '**', 'libcudnn.so*'), recursive=True)]
if inc and lib:
    print(f"-DCUDNN_INCLUDE_PATH={os.path.dirname(inc[0])} -DCUDNN_LIBRARY_PATH={sorted(lib)[0]}"
          f" -DCUDNN_ROOT={os.path.dirname(os.path.dirname(inc[0]))}")
PY
)
echo "cudnn hints: $cudnn_hints" >> "$out/env.txt"

build_cmake() {  # $1: ON|OFF for LAA_GPU_AUTOCAST
  rm -rf "$bd"
  # shellcheck disable=SC2086
  cmake -S "$here" -B "$bd" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" -DLAA_JSON_INCLUDE="$root/include" \
    -DLAA_GPU_AUTOCAST="$1" $cudnn_hints >> "$out/build.txt" 2>&1 || return 2
  pin $build_cpus nice -n 5 cmake --build "$bd" -j "$build_cores" >> "$out/build.txt" 2>&1
}

build_gxx() {  # $1: 1|0 for LAA_GPU_AUTOCAST; a CUDA LibTorch is assumed
  mkdir -p "$bd/gxx"
  local inc lib abi cv
  inc=$(python3 -c 'import torch.utils.cpp_extension as c; print(" ".join("-isystem " + p for p in c.include_paths()))')
  lib=$(python3 -c 'import torch.utils.cpp_extension as c; print(c.library_paths()[0])')
  abi=$(python3 -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')
  cv=$(python3 -c 'import torch; print(torch.version.cuda)')
  # The quotes survive the sh -c below: the macro is a string literal.
  local flags="-std=c++17 -O2 -D_GLIBCXX_USE_CXX11_ABI=$abi -DLAA_WITH_CUDA=1 -DLAA_CUDA_VERSION='\"$cv\"' -DLAA_GPU_AUTOCAST=$1 $inc -I$root/native -I$root/include"
  local srcs="$here/laa_gpu_check.cc"
  for layer in core net weights model train; do
    for f in "$root/native/$layer"/*.cc; do [ "$f" = "$root/native/train/loader.cc" ] || srcs="$srcs $f"; done
  done
  echo "g++ fallback: $flags" >> "$out/build.txt"
  printf '%s\n' $srcs | xargs -P "$build_cores" -I{} sh -c \
    "c++ $flags -c {} -o $bd/gxx/\$(basename {} .cc).o" >> "$out/build.txt" 2>&1 || return 1
  c++ -o "$bd/laa_gpu_check" "$bd"/gxx/*.o -L"$lib" -Wl,-rpath,"$lib" -Wl,--no-as-needed \
    -Wl,--allow-shlib-undefined -ltorch -ltorch_cuda -ltorch_cpu -lc10_cuda -lc10 >> "$out/build.txt" 2>&1
}

# The yardstick runs on other cores while the C++ builds (the build is CPU-only).
( pin $yard_cpus python3 "$here/yardstick.py" time --out "$out/py.jsonl" ${YARDSTICK_ARGS:-} > "$out/yardstick.txt" 2>&1 ) &
yard=$!

t0=$(date +%s)
build_cmake ON || { echo "cmake build with autocast failed"; build_cmake OFF; } || {
  echo "cmake build failed; g++ fallback"; build_gxx 1 || build_gxx 0; } || echo "BUILD FAILED"
echo "build: $(( $(date +%s) - t0 )) s"
grep -E "laa-native: CUDA|error" "$out/build.txt" | head -20
wait $yard
tail -n 30 "$out/yardstick.txt"

if [ -x "$bd/laa_gpu_check" ]; then
  ldd "$bd/laa_gpu_check" | grep -E "torch|c10|cuda" > "$out/ldd.txt"
  timeout 240 "$bd/laa_gpu_check" "$root/reference-a.safetensors" --json "$out/cpp.jsonl" > "$out/check.txt" 2>&1
  echo "laa_gpu_check exit $?"
  # Compact: parity maxima per group and everything else.
  grep -v "^  .* ok$" "$out/check.txt"
  echo "parity lines ok: $(grep -c ' ok$' "$out/check.txt")"
  python3 "$here/yardstick.py" compare "$out/cpp.jsonl" "$out/py.jsonl" | tee "$out/compare.txt"
fi
