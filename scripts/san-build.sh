#!/usr/bin/env bash
# Builds targets in build-san/: clang with AddressSanitizer + UndefinedBehaviorSanitizer, and
# libFuzzer's coverage instrumentation, so one build of libmert serves both the sanitized unit
# tests (scripts/sanitize.sh) and the fuzz harnesses (scripts/fuzz.sh).
# Usage: scripts/san-build.sh target ...        Environment: JOBS [nproc]
set -euo pipefail
cd "$(dirname "$0")/.."
B=build-san
if ! command -v clang++ >/dev/null; then
  echo "san-build: clang++ not found; run scripts/install-deps.sh" >&2
  exit 1
fi
if [ ! -f $B/build.ninja ]; then
  # -fno-sanitize-recover: a UBSan report fails the run instead of scrolling past.
  # -fsanitize=fuzzer-no-link: coverage hooks only; the ASan runtime supplies no-op defaults, so
  # the unit tests link without libFuzzer.
  # -O1 -gline-tables-only, as fuzzing builds usually are: fast enough to fuzz, symbolized stack
  # traces with lines, and ~10 % quicker to compile than -O2 -g.
  CC=clang CXX=clang++ cmake -S . -B $B -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMERT_FUZZ=ON -DBUILD_TESTING=ON -DMERT_PYTHON=OFF \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only -DNDEBUG" \
    -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined -fsanitize=fuzzer-no-link -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
fi
ninja -C $B -j"${JOBS:-$(nproc)}" "$@"
