#!/usr/bin/env bash
# Builds everything and runs the default test suite (unit + golden; `slow` is excluded).
# Full-size models: ctest --test-dir build -L slow
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
ctest --test-dir build -LE slow --output-on-failure -j"${JOBS:-$(nproc)}" --timeout 900
