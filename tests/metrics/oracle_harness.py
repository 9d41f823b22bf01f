"""Shared by the `mert metrics` oracle tests: run the CLI (MERT_BIN), compare its JSON with an
oracle's numbers to 1e-6, check refusals (exit code 2, one line on stderr, nothing on stdout), and
count failures."""
import json
import os
import subprocess
import sys
import time

MERT = os.environ["MERT_BIN"]
TOL = 1e-6
failures = []
t_start = time.time()


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def close(got, want):
    return isinstance(got, (int, float)) and abs(got - want) <= TOL * max(1.0, abs(want))


def run(*args):
    return subprocess.run([MERT, "metrics", *args], capture_output=True, text=True)


def scores_and_stderr(what, *args):
    """Runs `mert metrics`; returns its JSON object (None, recorded as a failure, on error) and
    what it printed on stderr."""
    p = run(*args)
    lines = p.stdout.splitlines()
    if p.returncode != 0 or len(lines) != 1:
        check(False, f"{what}: exit {p.returncode}, stdout {p.stdout[:300]!r}, stderr {p.stderr.strip()!r}")
        return None, p.stderr
    return json.loads(lines[0]), p.stderr


def scores_of(what, *args):
    return scores_and_stderr(what, *args)[0]


def _same(g, v):
    if isinstance(v, dict):
        return isinstance(g, dict) and sorted(g) == sorted(v) and all(_same(g[k], v[k]) for k in v)
    if isinstance(v, list):
        return isinstance(g, list) and len(g) == len(v) and all(_same(a, b) for a, b in zip(g, v))
    if isinstance(v, int) and not isinstance(v, bool):
        return g == v
    return close(g, v)


def compare(what, got, want):
    """Every key of `want` in `got`: integers equal, numbers to 1e-6, lists and dicts (e.g. per
    track) entry by entry."""
    if got is None:
        return
    for k, v in want.items():
        g = got.get(k)
        if isinstance(v, dict):
            bad_keys = [i for i in v if not (isinstance(g, dict) and i in g and _same(g[i], v[i]))][:3]
            ok = _same(g, v)
            check(ok, f"{what}: {k} ({len(v)} entries)" + ("" if ok else f" differ e.g. {bad_keys}"))
        else:
            check(_same(g, v), f"{what}: {k} = {g} (oracle {v})")


def judge(what, got, want, known=None):
    """The tool against the oracle; for a hand-made case also the answer written down, which the
    oracle must give too."""
    compare(what, got, want)
    if known:
        compare(what + " [known answer]", got, known)
        compare(what + " [oracle gives the known answer]", want, known)


def bad(what, args, needle):
    p = run(*args)
    err = p.stderr.rstrip("\n")
    ok = p.returncode == 2 and p.stdout == "" and err != "" and "\n" not in err and needle.lower() in err.lower()
    check(ok, f"bad input {what}: exit {p.returncode}, stderr {p.stderr!r}" + ("" if ok else f" (want {needle!r})"))


def finish():
    print(f"{len(failures)} failure(s), {time.time() - t_start:.1f} s")
    sys.exit(1 if failures else 0)
