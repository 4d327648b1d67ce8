#!/usr/bin/env bash
# The test suite on an AddressSanitizer + UBSan build of the addon:
#   bash scripts/test-sanitized.sh [vitest args]
# Builds into build-asan/ (LAA_NATIVE_SANITIZE=1) and runs vitest with the
# sanitizer runtimes preloaded into Node (which is not instrumented) and the
# addon taken from there (LAA_NATIVE_BINDING). Reports go to
# build-asan/reports/ (asan.<pid>, ubsan.<pid>); the script fails if any
# report names laa-native code. LeakSanitizer is off here: it cannot see
# pointers held in V8's heap (mmap'd, not scanned), so every native object
# still owned by JavaScript at exit would read as a leak. The parsers are
# leak-checked by the fuzz harnesses (scripts/fuzz.sh, detect_leaks=1).
set -euo pipefail
cd "$(dirname "$0")/.."
out=build-asan
LAA_NATIVE_SANITIZE=1 LAA_NATIVE_BUILD_DIR=$out bash scripts/build-native.sh
mkdir -p "$out/reports"
rm -f "$out"/reports/*
asan="$(g++ -print-file-name=libasan.so)"
ubsan="$(g++ -print-file-name=libubsan.so)"
export LD_PRELOAD="$asan:$ubsan"
export LAA_NATIVE_BINDING="$PWD/$out/Release/laa_native.node"
export ASAN_OPTIONS="log_path=$PWD/$out/reports/asan:detect_leaks=0:halt_on_error=0:detect_odr_violation=0:allocator_may_return_null=1"
export UBSAN_OPTIONS="log_path=$PWD/$out/reports/ubsan:print_stacktrace=1:halt_on_error=0"
set +e
# Not here: test/fuzz.test.ts (the fuzzers carry clang's own sanitizer runtime, which cannot share a process
# with the gcc runtime preloaded here) and test/install.test.ts (it tests the packed prebuild, not this build).
npx vitest run --exclude test/fuzz.test.ts --exclude test/install.test.ts "$@"
rc=$?
set -e
unset LD_PRELOAD
# Only reports that involve the addon's own sources count; LibTorch, OpenCV,
# dlib, FFmpeg and Node are not ours to fix (and are not instrumented).
ours=$(grep -l -E "native/(laanet|ops|[a-z_]+\.cc)" "$out"/reports/* 2>/dev/null || true)
echo "sanitizer reports: $(ls "$out"/reports | wc -l) in all, $(echo -n "$ours" | grep -c . || true) naming laa-native sources"
for f in $ours; do echo "== $f"; head -40 "$f"; done
[ -z "$ours" ] || exit 1
exit $rc
