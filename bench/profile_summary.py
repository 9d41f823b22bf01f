#!/usr/bin/env python3
"""Sum a `MERT_PROFILE` Chrome trace per aten op: calls, total (inclusive) and self time.

    MERT_PROFILE=/tmp/prof build/mert bench --preset v1-95m --dtype bf16 --reps 3
    bench/profile_summary.py /tmp/prof.bf16.json [--top 25]

Self time = an op's duration minus the ops nested inside it on the same thread, so the
self column adds up to the traced wall time and shows which kernels the time goes to.
"""
import argparse
import collections
import json


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("trace")
    ap.add_argument("--top", type=int, default=25)
    a = ap.parse_args()
    with open(a.trace) as f:
        text = f.read().rstrip().rstrip(",")
    if not text.endswith("]"):
        text += "]"
    events = [e for e in json.loads(text) if e.get("ph") == "X"]
    calls = collections.Counter()
    total = collections.Counter()
    self_t = collections.Counter()
    by_tid = collections.defaultdict(list)
    for e in events:
        by_tid[e.get("tid")].append(e)
    for evs in by_tid.values():
        evs.sort(key=lambda e: (e["ts"], -e["dur"]))
        stack = []  # (end, name)
        for e in evs:
            start, end, name = e["ts"], e["ts"] + e["dur"], e["name"]
            while stack and stack[-1][0] <= start:
                stack.pop()
            if stack:  # nested: its time is not its parent's own
                self_t[stack[-1][1]] -= e["dur"]
            calls[name] += 1
            total[name] += e["dur"]
            self_t[name] += e["dur"]
            stack.append((end, name))
    wall = sum(self_t.values())
    print(f"{'op':40s} {'calls':>7s} {'total ms':>10s} {'self ms':>10s} {'self %':>7s}")
    for name, s in self_t.most_common(a.top):
        print(f"{name:40s} {calls[name]:7d} {total[name] / 1e3:10.1f} {s / 1e3:10.1f} {100 * s / wall:6.1f}%")
    print(f"{'(all ops)':40s} {sum(calls.values()):7d} {'':10s} {wall / 1e3:10.1f}")


if __name__ == "__main__":
    main()
