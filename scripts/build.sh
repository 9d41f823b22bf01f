#!/usr/bin/env bash
# Configures (once) and builds everything into build/ with Ninja. Usage: scripts/build.sh [targets...]
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS="${JOBS:-$(nproc)}"
if [ ! -f build/build.ninja ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
ninja -C build -j"$JOBS" "$@"
