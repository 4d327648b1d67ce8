#!/usr/bin/env bash
# Builds the libFuzzer harnesses (native/fuzz, ASan + UBSan, clang) and runs
# each for a time budget, seeded with native/fuzz/seeds/<kind>:
#   bash scripts/fuzz.sh [seconds per harness, default 600] [harness...]
#   npm run fuzz                       (10 minutes each)
# Prints one line per harness: executions, corpus size, and crashes. Inputs
# that crash are written to build-fuzz/crashes/<harness>/ (libFuzzer's
# crash-* files): turn each into a regression test. Exits 1 if any crashed.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-600}"
shift || true
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=(fuzz_safetensors fuzz_pickle fuzz_pth fuzz_image_header)
cxx="${LAA_FUZZ_CXX:-$(command -v clang++-14 || command -v clang++ || true)}"
[ -n "$cxx" ] || { echo "fuzz: needs clang++ (apt-get install clang-14 libclang-rt-14-dev)" >&2; exit 1; }
out=build-fuzz
cmake -S native/fuzz -B "$out" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" >/dev/null
cmake --build "$out" -j "$(nproc)" >/dev/null
declare -A seeds=([fuzz_safetensors]=safetensors [fuzz_pickle]=pickle [fuzz_pth]=pth [fuzz_image_header]=image)
status=0
for h in "${harnesses[@]}"; do
  corpus="$out/corpus/$h"
  crashes="$out/crashes/$h"
  mkdir -p "$corpus" "$crashes"
  log="$out/$h.log"
  # rss/malloc limits: an input that makes a parser allocate gigabytes is a finding too.
  set +e
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$out/$h" -max_total_time="$secs" -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$crashes/" "$corpus" "native/fuzz/seeds/${seeds[$h]}" >"$log" 2>&1
  rc=$?
  set -e
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  units=$(ls "$corpus" | wc -l)
  found=$(ls "$crashes" | wc -l)
  echo "$h: ${execs} executions in ${secs} s, corpus ${units}, crashes ${found} (exit ${rc}; log $log)"
  if [ "$rc" -ne 0 ] || [ "$found" -ne 0 ]; then status=1; tail -30 "$log" >&2; fi
done
exit $status
