#!/usr/bin/env bash
# Runs every C++ unit-test binary (tests/unit, teachers, train, probe: all GoogleTest cases)
# built with AddressSanitizer + UndefinedBehaviorSanitizer (scripts/san-build.sh, build-san/).
# The Python/CLI tests are not run here (they drive the normal build's binary); the probe tests'
# synth readers do call `mert synth`, the sanitized one.
# A sanitizer report fails the test that triggered it; the log is build-san/sanitize-<binary>.log.
# Usage: scripts/sanitize.sh [binary ...]     (default: all four)
set -euo pipefail
cd "$(dirname "$0")/.."
B=build-san
ALL=(mert_unit_tests mert_teacher_tests mert_train_tests mert_probe_tests)
BINS=("${@:-${ALL[@]}}")
bash scripts/san-build.sh "${BINS[@]}"
# Leak checking stays off: libtorch keeps process-lifetime allocations (thread pools, op
# registries) that LeakSanitizer would report on every test.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export MERT_BIN=$PWD/$B/mert
status=0
for b in "${BINS[@]}"; do
  log="$B/sanitize-$b.log"
  start=$SECONDS
  if (cd $B/tests && "./$b" --gtest_brief=1) >"$log" 2>&1; then
    echo "ok   $b (ASan+UBSan): $(grep -o '\[  PASSED  \] [0-9]* test' "$log" | grep -o '[0-9]*') passed in $((SECONDS - start)) s"
  else
    echo "FAIL $b (ASan+UBSan): see $log"
    grep -E "ERROR: AddressSanitizer|runtime error|\[  FAILED  \]" "$log" | head -5
    status=1
  fi
done
exit $status
