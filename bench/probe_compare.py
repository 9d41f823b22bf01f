#!/usr/bin/env python3
"""Compares two `mert probe --suite` runs of the same data and seeds (e.g. one model at fp32 and
at int8) point by point: for every task and test metric, the chosen point's test score in each
run and the mean and spread of (B - A) over every sweep point both runs trained (same lr, same
layer). The chosen point alone moves with small test sets; the paired mean over the whole sweep
shows whether B's features carry less. Prints a markdown table; points are in metric x 100.

usage: bench/probe_compare.py <suite out dir A> <suite out dir B>"""
import csv
import json
import os
import statistics
import sys


def sweep(task_dir):
    with open(os.path.join(task_dir, "sweep.csv")) as f:
        return {(r["lr"], r["layer"]): r for r in csv.DictReader(f)}


def chosen_test(task_dir):
    with open(os.path.join(task_dir, "results.json")) as f:
        return json.load(f)["test"]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    a_root, b_root = sys.argv[1:]
    tasks = sorted(t for t in os.listdir(a_root) if os.path.isfile(os.path.join(a_root, t, "sweep.csv"))
                   and os.path.isfile(os.path.join(b_root, t, "sweep.csv")))
    if not tasks:
        sys.exit("no task dirs with sweep.csv in both runs")
    print(f"A = {a_root}, B = {b_root}\n")
    print("| task | metric | chosen A | chosen B | sweep points | mean (B − A) over points | sd | s.e. |")
    print("|---|---|---|---|---|---|---|---|")
    for t in tasks:
        a, b = sweep(os.path.join(a_root, t)), sweep(os.path.join(b_root, t))
        keys = [k for k in a if k in b]
        ca, cb = chosen_test(os.path.join(a_root, t)), chosen_test(os.path.join(b_root, t))
        for col in [c for c in a[keys[0]] if c.startswith("test_")]:
            name = col[len("test_"):]
            try:
                d = [100 * (float(b[k][col]) - float(a[k][col])) for k in keys]
            except ValueError:
                continue
            if name not in ca or not isinstance(ca[name], (int, float)) or "skipped" in name:
                continue
            sd = statistics.pstdev(d)
            print(f"| {t} | {name} | {100 * ca[name]:.2f} | {100 * cb[name]:.2f} | {len(d)} | "
                  f"{statistics.mean(d):+.2f} | {sd:.2f} | {sd / len(d) ** 0.5:.2f} |")


if __name__ == "__main__":
    main()
