#!/usr/bin/env bash
# Memory over a catalogue (issue 18): `mert embed` over 1000 inputs of all-different lengths must
# hold its memory flat: peak RSS after 1000 inputs within 10 % of the peak after the first 100.
# Every new length used to add oneDNN primitives to libtorch's kernel caches for good (and
# fragment the heap). The check can fail: with libtorch's default cache sizes in the environment,
#   LRU_CACHE_CAPACITY=1024 ONEDNN_PRIMITIVE_CACHE_CAPACITY=1024 bash tests/cli/test_memory_catalogue.sh
# it does. Needs MERT_BIN and ORACLE_PYTHON (with numpy). docs/RELIABILITY.md has the figures,
# made with the same script: MEMORY_TEST_PRESET=v1-95m MEMORY_TEST_ARGS="--dtype bf16" (defaults:
# tiny, no extra embed arguments; MEMORY_TEST_FILES=1000). MEMORY_TEST_COMMAND=features runs
# `mert features --type cqt` (the teachers' path) over the same files instead of `mert embed`.
set -uo pipefail
: "${MERT_BIN:?}" "${ORACLE_PYTHON:?}"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
N=${MEMORY_TEST_FILES:-1000}
PRESET=${MEMORY_TEST_PRESET:-tiny}
export MEMORY_TEST_ARGS=${MEMORY_TEST_ARGS:-}
export MEMORY_TEST_COMMAND=${MEMORY_TEST_COMMAND:-embed}

"$MERT_BIN" init -o "$W/model" --preset "$PRESET" --seed 3 2>/dev/null || { echo "cannot create model"; exit 1; }
"$ORACLE_PYTHON" - "$W/model" "$W/wav" "$W/out" "$N" <<'EOF'
import os, subprocess, sys, time, wave
import numpy as np
model, wav_dir, out_dir, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
mert = os.environ["MERT_BIN"]
os.makedirs(wav_dir)
sr = 24000
rng = np.random.default_rng(18)
# Lengths 1.00-4.0 s, all different (in samples and mostly in model frames), in random order.
lengths = sr + np.arange(n) * (3 * sr // n) + rng.integers(0, 3 * sr // n, n)
names = rng.permutation(n)
for i, s in enumerate(lengths):
    t = np.arange(s) / sr
    x = 0.3 * np.sin(2 * np.pi * (110 + i) * t) + 0.05 * rng.standard_normal(s)
    with wave.open(f"{wav_dir}/f{names[i]:04d}.wav", "wb") as w:
        w.setnchannels(1); w.setsampwidth(2); w.setframerate(sr)
        w.writeframes((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes())

def status(pid):
    vals = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                vals[line[:5]] = int(line.split()[1]) / 1024
    return vals

# --verbose prints a line per finished file; memory is read from /proc as each line arrives.
extra = os.environ["MEMORY_TEST_ARGS"].split()
t0 = time.monotonic()
if os.environ["MEMORY_TEST_COMMAND"] == "features":
    cmd = [mert, "features", "--type", "cqt", "-o", out_dir, "--jobs", "1", "--verbose", *extra, wav_dir]
else:
    cmd = [mert, "embed", "-m", model, "-o", out_dir, "--threads", "1", "--verbose", *extra, wav_dir]
p = subprocess.Popen(cmd,
                     stderr=subprocess.PIPE, text=True, bufsize=1)
done, hwm, tail = 0, {}, []
for line in p.stderr:
    if line.startswith("ok "):
        done += 1
        if done % 100 == 0 or done == n:
            m = status(p.pid)
            hwm[done] = m["VmHWM"]
            print(f"  after {done:4d} inputs: RSS {m['VmRSS']:6.0f} MiB, peak {m['VmHWM']:6.0f} MiB", flush=True)
    elif not line.startswith("progress:"):
        tail.append(line.rstrip())
rc = p.wait()
print(f"  run took {time.monotonic() - t0:.1f} s", flush=True)
fails = 0
def check(cond, what):
    global fails
    print(("ok   " if cond else "FAIL ") + what)
    fails += 0 if cond else 1
check(rc == 0 and done == n, f"all {n} inputs done (exit {rc}, {done} ok)")
if not (rc == 0 and done == n):
    print("\n".join(tail[-5:]))
if 100 in hwm and n in hwm:
    ratio = hwm[n] / hwm[100]
    check(ratio <= 1.10, f"peak RSS after {n} inputs is {ratio:.3f}x the peak after 100 (limit 1.10): "
                         f"{hwm[100]:.0f} -> {hwm[n]:.0f} MiB")
sys.exit(1 if fails else 0)
EOF
