#!/usr/bin/env bash
# Builds everything and runs the default test suite: unit + golden tests (`slow` is excluded),
# then the C++ unit tests under ASan+UBSan and every fuzz harness for 20 s (build-san/, clang).
# Full-size models: ctest --test-dir build -L slow
# MERT_TEST_SANITIZERS=0 skips the sanitizer and fuzz stage (it adds a second, clang build).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
ctest --test-dir build -LE slow --output-on-failure -j"${JOBS:-$(nproc)}" --timeout 900
if [ "${MERT_TEST_SANITIZERS:-1}" != 0 ]; then
  bash scripts/sanitize.sh
  SECONDS_PER_HARNESS=${SECONDS_PER_HARNESS:-20} bash scripts/fuzz.sh
fi
