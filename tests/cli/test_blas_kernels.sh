#!/usr/bin/env bash
# OpenBLAS kernel choice (src/util/blas_kernels.h): whatever OPENBLAS_CORETYPE says, `mert` runs
# the best kernel set this CPU and OpenBLAS allow, says so on the system line, honours
# MERT_BLAS_KERNELS=keep, and computes the same fp32 embeddings on either kernel set.
# The expected core is worked out here from /proc/cpuinfo, not by the code under test.
# Needs: MERT_BIN, ORACLE_PYTHON (set by ctest).
set -uo pipefail
: "${MERT_BIN:?}" "${ORACLE_PYTHON:?}"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
fail=0
check() {  # name, condition exit status
  if [ "$2" -eq 0 ]; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi
}

flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
has() { [[ $flags == *" $1 "* ]]; }
if has avx512f && has avx512bw && has avx512dq && has avx512vl && has avx512_bf16; then best=Cooperlake
elif has avx512f && has avx512bw && has avx512dq && has avx512vl; then best=SkylakeX
elif has avx2 && has fma; then best=Haswell
else echo "skip: this CPU has no AVX2; no kernel choice to test"; exit 0
fi

"$MERT_BIN" init -o "$W/tiny" --preset tiny --seed 1 >/dev/null 2>&1
# Each case starts from a clean slate: the host running the tests may set either variable.
system_line() { env -u OPENBLAS_CORETYPE -u MERT_BLAS_KERNELS "$@" "$MERT_BIN" info -m "$W/tiny" 2>&1 | grep -m1 '^system:'; }
line=$(system_line)
if [[ $line != *OpenBLAS* ]]; then echo "skip: BLAS is not OpenBLAS ($line)"; exit 0; fi
echo "expected core: $best"

# A weak core forced by the environment is replaced (unless it already is the best one).
weak=Sandybridge
line=$(system_line OPENBLAS_CORETYPE=$weak)
[[ $line == *"$best kernels (chosen by mert; OPENBLAS_CORETYPE=$weak)"* ]]
check "OPENBLAS_CORETYPE=$weak -> $best: ${line##*BLAS }" $?
line=$(system_line)
[[ $line == *"$best kernels"* && $line != *OPENBLAS_CORETYPE=* ]]
check "environment unset -> $best: ${line##*BLAS }" $?
line=$(system_line OPENBLAS_CORETYPE=$weak MERT_BLAS_KERNELS=keep)
[[ $line == *"$weak kernels (MERT_BLAS_KERNELS=keep)"* ]]
check "MERT_BLAS_KERNELS=keep keeps $weak: ${line##*BLAS }" $?
err=$(MERT_BLAS_KERNELS=bogus "$MERT_BIN" info -m "$W/tiny" 2>&1 >/dev/null | grep -c "MERT_BLAS_KERNELS='bogus' ignored")
[ "$err" -ge 1 ]
check "an unknown MERT_BLAS_KERNELS value is named in a warning" $?

# Same fp32 results on the weak and the chosen kernels (summation order differs: tolerance).
"$MERT_BIN" gen-audio -o "$W/a.wav" --sec 3 --seed 5 2>/dev/null
OPENBLAS_CORETYPE=$weak MERT_BLAS_KERNELS=keep "$MERT_BIN" embed -m "$W/tiny" --pool none --threads 1 \
  -o "$W/weak" "$W/a.wav" 2>/dev/null
OPENBLAS_CORETYPE=$weak "$MERT_BIN" embed -m "$W/tiny" --pool none --threads 1 -o "$W/best" "$W/a.wav" 2>/dev/null
"$ORACLE_PYTHON" - "$W/weak/a.npy" "$W/best/a.npy" <<'PY'
import sys, numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
rel = float(np.abs(a - b).max() / np.abs(a).max())
print(f"max |weak - best| / max |weak| = {rel:.2e} over {a.shape}")
sys.exit(0 if a.shape == b.shape and rel < 1e-4 else 1)
PY
check "fp32 embeddings agree across kernel sets" $?
exit $fail
