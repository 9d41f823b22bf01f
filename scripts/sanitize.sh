#!/usr/bin/env bash
# Runs every C++ unit-test binary (tests/unit, teachers, train, probe: all GoogleTest cases)
# built with AddressSanitizer + UndefinedBehaviorSanitizer (scripts/san-build.sh, build-san/).
# Then the two CLI tests that feed hostile and odd input to the sanitized `mert` binary:
# tests/cli/test_bad_input.sh and test_real_world_audio.sh (the other CLI/Python tests use the
# normal build). The probe tests' synth readers call the sanitized `mert synth` too.
# A sanitizer report fails the test that triggered it; the log is build-san/sanitize-<binary>.log.
# Usage: scripts/sanitize.sh [binary ...]     (default: all four, and the CLI tests)
set -euo pipefail
cd "$(dirname "$0")/.."
B=build-san
ALL=(mert_unit_tests mert_teacher_tests mert_train_tests mert_probe_tests)
BINS=("${@:-${ALL[@]}}")
bash scripts/san-build.sh "${BINS[@]}" mert_cli
# Leak checking stays off: libtorch keeps process-lifetime allocations (thread pools, op
# registries) that LeakSanitizer would report on every test.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0:detect_stack_use_after_return=1}
# exitcode 86: a sanitizer report must not pass for the CLI's own exit 1 ("bad input").
export ASAN_OPTIONS=$ASAN_OPTIONS:exitcode=86
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}:exitcode=86
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
if [ $# -eq 0 ]; then
  export ORACLE_PYTHON=${ORACLE_PYTHON:-/usr/bin/python3} MERT_SOURCE_DIR=$PWD
  for t in test_bad_input.sh test_real_world_audio.sh; do
    log="$B/sanitize-${t%.sh}.log"
    start=$SECONDS
    if bash "tests/cli/$t" >"$log" 2>&1; then
      echo "ok   tests/cli/$t on the sanitized mert: $(tail -1 "$log") in $((SECONDS - start)) s"
    else
      echo "FAIL tests/cli/$t on the sanitized mert: see $log"
      grep -E "^FAIL|ERROR: AddressSanitizer|runtime error" "$log" | head -5
      status=1
    fi
  done
fi
exit $status
