#!/usr/bin/python3
"""Puts the summaries of several `mert probe --suite` runs side by side: one row per run, one
column per task (its MARBLE-style score, the chosen layer in brackets), and the average.
Usage: bench/probe_table.py <probe out dir>... (each holds the summary.json of a suite run).
The row name is the dir's name. Prints markdown on stdout."""
import json
import os
import sys


def main(dirs):
    if not dirs:
        sys.exit(__doc__)
    rows, tasks = [], []
    for d in dirs:
        path = os.path.join(d, "summary.json")
        try:
            with open(path) as f:
                s = json.load(f)
        except (OSError, ValueError) as e:
            sys.exit(f"{path}: {e}")
        by_task = {t["task"]: t for t in s["tasks"]}
        tasks += [t for t in by_task if t not in tasks]
        rows.append((os.path.basename(os.path.normpath(d)), by_task, s.get("average")))
    print("| row | " + " | ".join(tasks) + " | average |")
    print("|---|" + "---|" * (len(tasks) + 1))
    for name, by_task, avg in rows:
        cells = []
        for t in tasks:
            r = by_task.get(t)
            cells.append("—" if r is None else f"{r['score']:.2f} ({r['layer']})")
        print(f"| {name} | " + " | ".join(cells) + f" | {'—' if avg is None else f'{avg:.2f}'} |")
    best = {t: max((r[1][t]["score"], r[0]) for r in rows if t in r[1]) for t in tasks}
    print("\nBest per task: " + "; ".join(f"{t} {name} ({score:.2f})" for t, (score, name) in best.items()))


if __name__ == "__main__":
    main(sys.argv[1:])
