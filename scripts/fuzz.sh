#!/usr/bin/env bash
# Builds the libFuzzer harnesses (fuzz/) with clang, ASan and UBSan into build-san/, then runs
# each for SECONDS seconds from its committed seed corpus (fuzz/corpus/<name>/), with new inputs
# kept in build-san/corpus/<name>/. Prints executions and coverage per harness and exits
# non-zero on the first crash (the reproducer is written to build-san/crash-*).
# Usage: scripts/fuzz.sh [harness ...]      (default: all)
# Environment: SECONDS_PER_HARNESS [20]  RUNS [unset]  JOBS [nproc]  RSS_LIMIT_MB [2048]
# Every run appends a line per harness to build-san/fuzz-stats.tsv (time, harness, executions,
# seconds, coverage, corpus size): the campaign figures in docs/RELIABILITY.md come from it.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${SECONDS_PER_HARNESS:-20}
B=build-san
ALL=(audio safetensors torch_checkpoint config npy manifest labels codebook)
HARNESSES=("${@:-${ALL[@]}}")
bash scripts/san-build.sh "${HARNESSES[@]/#/fuzz_}"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# RUNS caps the executions instead (the campaign: RUNS=1000000 SECONDS_PER_HARNESS=3600).
limit=(-max_total_time="$SECS")
[ -n "${RUNS:-}" ] && limit+=(-runs="$RUNS")
for h in "${HARNESSES[@]}"; do
  mkdir -p "$B/corpus/$h"
  log="$B/fuzz_$h.log"
  start=$(date +%s.%N)
  if ! "$B/fuzz/fuzz_$h" "${limit[@]}" -rss_limit_mb="${RSS_LIMIT_MB:-2048}" -malloc_limit_mb="${RSS_LIMIT_MB:-2048}" \
      -timeout=10 -print_final_stats=1 -artifact_prefix="$B/crash-$h-" "$B/corpus/$h" "fuzz/corpus/$h" >"$log" 2>&1; then
    echo "FAIL fuzz_$h: see $log"; grep -E "ERROR|runtime error|==[0-9]+==" "$log" | head -5
    exit 1
  fi
  secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*')
  corpus=$(ls "$B/corpus/$h" | wc -l)
  printf 'ok   fuzz_%-16s %9d executions in %6.0f s, coverage %5d, corpus %d inputs\n' "$h" "$execs" "$secs" "$cov" "$corpus"
  printf '%s\t%s\t%d\t%.0f\t%d\t%d\n' "$(date -u +%FT%TZ)" "$h" "$execs" "$secs" "$cov" "$corpus" >>"$B/fuzz-stats.tsv"
done
