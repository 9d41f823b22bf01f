#!/usr/bin/env bash
# Builds the libFuzzer harnesses (fuzz/) with clang, ASan and UBSan into build-fuzz/, then runs
# each for SECONDS seconds from its committed seed corpus (fuzz/corpus/<name>/), with new inputs
# kept in build-fuzz/corpus/<name>/. Prints executions and coverage per harness and exits
# non-zero on the first crash (the reproducer is written to build-fuzz/crash-*).
# Usage: scripts/fuzz.sh [harness ...]      (default: all)
# Environment: SECONDS_PER_HARNESS [20]  JOBS [nproc]  RSS_LIMIT_MB [2048]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${SECONDS_PER_HARNESS:-20}
JOBS=${JOBS:-$(nproc)}
B=build-fuzz
ALL=(audio safetensors torch_checkpoint config npy manifest labels codebook)
HARNESSES=("${@:-${ALL[@]}}")
if [ ! -f $B/build.ninja ]; then
  CC=clang CXX=clang++ cmake -S . -B $B -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMERT_FUZZ=ON -DBUILD_TESTING=OFF \
    -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined -fsanitize=fuzzer-no-link -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
fi
ninja -C $B -j"$JOBS" "${HARNESSES[@]/#/fuzz_}"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
for h in "${HARNESSES[@]}"; do
  mkdir -p "$B/corpus/$h"
  log="$B/fuzz_$h.log"
  if ! "$B/fuzz_$h" -max_total_time="$SECS" -rss_limit_mb="${RSS_LIMIT_MB:-2048}" -malloc_limit_mb="${RSS_LIMIT_MB:-2048}" \
      -timeout=10 -print_final_stats=1 -artifact_prefix="$B/crash-$h-" "$B/corpus/$h" "fuzz/corpus/$h" >"$log" 2>&1; then
    echo "FAIL fuzz_$h: see $log"; grep -E "ERROR|runtime error|==[0-9]+==" "$log" | head -5
    exit 1
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
  echo "ok   fuzz_$h: $execs executions in ${SECS} s, $cov, corpus $(ls "$B/corpus/$h" | wc -l) inputs"
done
