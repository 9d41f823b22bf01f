#!/usr/bin/env bash
# `cmake --install` + find_package(mert) from outside the tree: installs the build into a temp
# prefix, builds examples/ (examples/embed.cpp, linked to mert::core only) against it, and checks
# that the example's embedding equals `mert embed`'s .npy bit for bit. Also: the installed
# headers compile without libtorch's include paths (the public API is torch-free).
# Usage: test_install.sh BUILD_DIR   (MERT_BIN, ORACLE_PYTHON from ctest)
set -euo pipefail
BUILD=$(realpath "$1")
HERE=$(cd "$(dirname "$0")/../.." && pwd)
PY=${ORACLE_PYTHON:-/usr/bin/python3}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
fail() { echo "FAIL $*"; exit 1; }

cmake --install "$BUILD" --prefix "$W/prefix" > "$W/install.log" || { cat "$W/install.log"; fail "cmake --install"; }
[[ -f $W/prefix/lib/cmake/mert/mertConfig.cmake && -f $W/prefix/lib/libmert_core.a && -x $W/prefix/bin/mert ]] ||
  fail "install tree incomplete: $(cd "$W/prefix" && find . -maxdepth 3 | tr '\n' ' ')"
[[ ! -e $W/prefix/include/mert/model_dir.h ]] || fail "an internal header was installed"

# Each public header compiles on its own and pulls in no libtorch header.
for h in "$W"/prefix/include/mert/*.h; do
  deps=$(echo "#include \"mert/$(basename "$h")\"" | g++ -std=c++17 -M -I"$W/prefix/include" -x c++ -) ||
    fail "$(basename "$h") does not compile on its own"
  if grep -Eq '/(torch|ATen|c10)/' <<< "$deps"; then fail "$(basename "$h") includes libtorch headers"; fi
done
echo "ok   $(ls "$W"/prefix/include/mert/*.h | wc -l) installed headers compile on their own, without libtorch headers"

cmake -S "$HERE/examples" -B "$W/ex" -DCMAKE_PREFIX_PATH="$W/prefix" -DCMAKE_BUILD_TYPE=Release > "$W/cfg.log" 2>&1 ||
  { cat "$W/cfg.log"; fail "configuring examples/ against the installed package"; }
cmake --build "$W/ex" > "$W/build.log" 2>&1 || { cat "$W/build.log"; fail "building examples/"; }
echo "ok   examples/ configured with find_package(mert) and built"

"$MERT_BIN" init -o "$W/tiny" --seed 3 > /dev/null
"$MERT_BIN" gen-audio -o "$W/clip.wav" --sec 3 --sr 44100 > /dev/null
"$W/ex/embed" "$W/tiny" "$W/clip.wav" "$W/ex.f32" > "$W/ex.txt"
"$MERT_BIN" embed -m "$W/tiny" -o "$W/out" "$W/clip.wav" > /dev/null 2>&1
"$PY" - "$W/out/clip.npy" "$W/ex.f32" <<'PY' || fail "example output differs from mert embed"
import sys
import numpy as np
want = np.load(sys.argv[1])
got = np.fromfile(sys.argv[2], dtype=np.float32)
assert got.size == want.size, (got.size, want.shape)
assert np.array_equal(got.reshape(want.shape), want), np.abs(got.reshape(want.shape) - want).max()
print(f"ok   examples/embed equals mert embed bit for bit {want.shape}")
PY
if "$W/ex/embed" "$W/tiny" "$W/missing.wav" 2> "$W/err.txt"; then fail "missing file accepted"; fi
grep -q "missing.wav" "$W/err.txt" || fail "error does not name the file: $(cat "$W/err.txt")"
echo "ok   a missing file is an error naming it"
