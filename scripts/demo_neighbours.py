#!/usr/bin/python3
"""Nearest neighbours of the demo clips by cosine similarity of their mean-pooled features, with
what each clip is known to hold, so a person can judge whether similar clips end up close.

Two kinds of data dir (both written by `mert synth`):
  tags: annotations_final.csv -> instrument families; a neighbour "agrees" when it shares one.
  beat: <clip>.bpm files      -> tempo; a neighbour "agrees" when its tempo is within 8 %.
For every feature set it prints how many clips' nearest neighbour agrees, and what a random
neighbour would give (the mean over all other clips).

Usage: scripts/demo_neighbours.py <data dir> <layer> <name>=<embed out dir>...
(the first feature set is listed clip by clip)."""
import csv
import glob
import os
import sys

import numpy as np


def read_labels(data_dir):
    """clip path relative to the data dir (no extension) -> label (set of tags, or BPM)."""
    ann = os.path.join(data_dir, "annotations_final.csv")
    if os.path.exists(ann):
        labels = {}
        with open(ann) as f:
            rows = csv.reader(f, delimiter="\t")
            names = next(rows)[1:-1]
            for r in rows:
                labels[os.path.splitext(r[-1])[0]] = frozenset(n for n, v in zip(names, r[1:-1]) if v == "1")
        return labels, "tags"
    bpm = sorted(glob.glob(os.path.join(data_dir, "**", "*.bpm"), recursive=True))
    if bpm:
        return {os.path.relpath(p, data_dir)[:-4]: float(open(p).read().split()[0]) for p in bpm}, "bpm"
    sys.exit(f"{data_dir}: neither annotations_final.csv nor .bpm files")


def agree(kind, a, b):
    return bool(a & b) if kind == "tags" else abs(a - b) <= 0.08 * max(a, b)


def show(kind, label):
    return ",".join(sorted(label))[:40] if kind == "tags" else f"{label:6.1f} BPM"


def load(feat_dir, rels, layer):
    x = np.stack([np.load(os.path.join(feat_dir, rel + ".npy"))[layer] for rel in rels]).astype(np.float64)
    # Standardise each dimension over the set: what every clip shares, and a few large
    # dimensions, would otherwise decide the cosine.
    x = (x - x.mean(0)) / np.maximum(x.std(0), 1e-8)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    data_dir, layer, sets = argv[0], int(argv[1]), [a.split("=", 1) for a in argv[2:]]
    labels, kind = read_labels(data_dir)
    rels = sorted(r for r in labels if all(os.path.exists(os.path.join(d, r + ".npy")) for _, d in sets))
    if len(rels) < 3:
        sys.exit(f"only {len(rels)} clips have features in every set")
    n = len(rels)
    chance = np.mean([np.mean([agree(kind, labels[rels[i]], labels[rels[j]]) for j in range(n) if j != i])
                      for i in range(n)])
    what = "shares an instrument family" if kind == "tags" else "has a tempo within 8 %"
    for k, (name, feat_dir) in enumerate(sets):
        x = load(feat_dir, rels, layer)
        sim = x @ x.T
        np.fill_diagonal(sim, -np.inf)
        nn = sim.argmax(1)
        hits = [agree(kind, labels[rels[i]], labels[rels[j]]) for i, j in enumerate(nn)]
        if k == 0:
            print(f"{'clip':18s} {'label':40s} -> nearest (cosine)     its label")
            for i, j in enumerate(nn):
                print(f"{os.path.basename(rels[i]):18s} {show(kind, labels[rels[i]]):40s} -> "
                      f"{os.path.basename(rels[j]):18s} ({sim[i, j]:.2f}) {'*' if hits[i] else ' '} "
                      f"{show(kind, labels[rels[j]])}")
            print(f"(* = the neighbour {what})")
        print(f"{name:12s}: the nearest neighbour {what} for {sum(hits)}/{n} clips "
              f"(a random neighbour: {chance * n:.1f}/{n})")


if __name__ == "__main__":
    main(sys.argv[1:])
