#!/usr/bin/python3
"""One SVG with a panel per task: the validation metric of every hidden state (best learning rate
of each layer, as `mert probe` chooses) for several suite runs side by side. Runs with a single
"layer" (hand features) are drawn as dashed horizontal lines, so a model's curve can be read
against them.

Usage: bench/layer_curves.py -o out.svg <suite run dir>... [--title TEXT]
Each run dir holds one sub-dir per task with the sweep.csv `mert probe` writes; the row name is
the dir's name."""
import argparse
import csv
import math
import os
import sys

COLOURS = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
           "#ff7f0e"]


def read_run(d):
    """task -> (monitor name, {layer label: best validation value})."""
    out = {}
    for task in sorted(os.listdir(d)):
        path = os.path.join(d, task, "sweep.csv")
        if not os.path.isfile(path):
            continue
        with open(path) as f:
            rows = list(csv.DictReader(f))
        if not rows:
            continue
        col = next(c for c in rows[0] if c.startswith("valid_"))
        best = {}
        for r in rows:
            v = float(r[col])
            if math.isfinite(v) and (r["layer"] not in best or v > best[r["layer"]]):
                best[r["layer"]] = v
        out[task] = (col[len("valid_"):], best)
    return out


def layer_key(label):
    return (1, 0) if label == "wsum" else (0, int(label))


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-o", "--out", required=True)
    p.add_argument("--title", default="Validation metric per layer (best learning rate of each layer)")
    p.add_argument("--cols", type=int, default=3)
    p.add_argument("runs", nargs="+")
    a = p.parse_args()
    runs = [(os.path.basename(os.path.normpath(d)), read_run(d)) for d in a.runs]
    tasks = []
    for _, r in runs:
        tasks += [t for t in r if t not in tasks]
    if not tasks:
        sys.exit("no sweep.csv found under the given dirs")
    pw, ph, ml, mt, gap = 300, 190, 55, 30, 40
    cols = min(a.cols, len(tasks))
    rows = (len(tasks) + cols - 1) // cols
    legend_h = 22 * ((len(runs) + 3) // 4) + 10
    W = cols * (pw + ml + gap) + 20
    H = 50 + rows * (ph + mt + gap + 20) + legend_h
    s = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="11">',
         '<rect width="100%" height="100%" fill="white"/>',
         f'<text x="20" y="24" font-size="15">{esc(a.title)}</text>']
    for ti, task in enumerate(tasks):
        ox = 20 + (ti % cols) * (pw + ml + gap) + ml
        oy = 50 + (ti // cols) * (ph + mt + gap + 20) + mt
        labels = sorted({l for _, r in runs if task in r and len(r[task][1]) > 1 for l in r[task][1]}, key=layer_key)
        if not labels:
            labels = ["0"]
        vals = [v for _, r in runs if task in r for v in r[task][1].values()]
        lo, hi = min(vals), max(vals)
        pad = max(0.01, (hi - lo) * 0.08)
        lo, hi = lo - pad, hi + pad
        monitor = next(r[task][0] for _, r in runs if task in r)
        n = len(labels)

        def x(i):
            return ox + (pw * i / (n - 1) if n > 1 else pw / 2)

        def y(v):
            return oy + ph * (1 - (v - lo) / (hi - lo))

        s.append(f'<text x="{ox}" y="{oy - 10}" font-size="13">{esc(task)} ({esc(monitor)}, validation)</text>')
        for k in range(5):
            v = lo + (hi - lo) * k / 4
            s.append(f'<line x1="{ox}" x2="{ox + pw}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#e5e5e5"/>')
            s.append(f'<text x="{ox - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.2f}</text>')
        s.append(f'<rect x="{ox}" y="{oy}" width="{pw}" height="{ph}" fill="none" stroke="#444"/>')
        for i, l in enumerate(labels):
            s.append(f'<text x="{x(i):.1f}" y="{oy + ph + 15}" text-anchor="middle">{l}</text>')
        for ri, (name, r) in enumerate(runs):
            if task not in r:
                continue
            c = COLOURS[ri % len(COLOURS)]
            best = r[task][1]
            if len(best) == 1:  # a hand feature: one value across the panel
                v = next(iter(best.values()))
                s.append(f'<line x1="{ox}" x2="{ox + pw}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="{c}" '
                         f'stroke-width="1.5" stroke-dasharray="5,4"/>')
                continue
            pts = [(x(i), y(best[l])) for i, l in enumerate(labels) if l in best]
            s.append(f'<polyline points="{" ".join(f"{px:.1f},{py:.1f}" for px, py in pts)}" fill="none" '
                     f'stroke="{c}" stroke-width="2"/>')
            s += [f'<circle cx="{px:.1f}" cy="{py:.1f}" r="2.8" fill="{c}"/>' for px, py in pts]
    ly = H - legend_h + 10
    for ri, (name, r) in enumerate(runs):
        c = COLOURS[ri % len(COLOURS)]
        lx = 20 + (ri % 4) * 220
        yy = ly + 22 * (ri // 4)
        single = all(len(v[1]) == 1 for v in r.values())
        dash = ' stroke-dasharray="5,4"' if single else ""
        s.append(f'<line x1="{lx}" x2="{lx + 28}" y1="{yy}" y2="{yy}" stroke="{c}" stroke-width="2"{dash}/>')
        s.append(f'<text x="{lx + 34}" y="{yy + 4}">{esc(name)}</text>')
    s.append("</svg>")
    with open(a.out, "w") as f:
        f.write("\n".join(s) + "\n")


if __name__ == "__main__":
    main()
