#!/usr/bin/env python3
"""Rescores `mert probe` outputs: results.json's test metrics against `mert metrics` and against
scikit-learn / mir_eval on the saved predictions, and the choice against the sweep.
usage: bench/probe_verify.py <mert binary> <probe out dir or suite out dir>..."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "probe"))
import probe_oracle  # noqa: E402

if len(sys.argv) < 3:
    sys.exit(__doc__)
bad = 0
for root in sys.argv[2:]:
    for d in probe_oracle.task_dirs(root):
        for ok, what in probe_oracle.verify(sys.argv[1], d):
            print(("ok   " if ok else "FAIL ") + what)
            bad += not ok
print(f"{'all passed' if not bad else f'{bad} failed'}")
sys.exit(1 if bad else 0)
