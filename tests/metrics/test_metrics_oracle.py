#!/usr/bin/env python3
"""`mert metrics` against the reference libraries: scikit-learn (accuracy_score,
top_k_accuracy_score, roc_auc_score, average_precision_score, f1_score, r2_score) and
mir_eval.key.weighted_score, to 1e-6, on randomized inputs (ties from quantized scores, constant
score columns, single-class columns, 2-1000 classes, N from 1 to 100k, every dtype numpy writes
for targets) and hand-made cases with known answers; then bad input, which must be exit code 2
with exactly one line on stderr and nothing on stdout. Needs MERT_BIN; numpy, scikit-learn,
scipy and mir_eval from Debian's python."""
import os
import tempfile
import warnings

import numpy as np
from scipy.special import expit
from sklearn.metrics import (accuracy_score, average_precision_score, f1_score, r2_score, roc_auc_score,
                             top_k_accuracy_score)
import mir_eval

from oracle_harness import bad, check, compare, finish, judge, run, scores_of

warnings.simplefilter("ignore")  # sklearn's UndefinedMetricWarning etc. are expected here


tmp = tempfile.mkdtemp(prefix="mert_metrics_")
counter = [0]


def path(suffix):
    counter[0] += 1
    return os.path.join(tmp, f"f{counter[0]}{suffix}")


def npy(a):
    p = path(".npy")
    np.save(p, a)
    return p


def tsv(rows):
    p = path(".tsv")
    with open(p, "w") as f:
        f.write("".join(f"{i}\t{k}\n" for i, k in rows))
    return p


# ---------------------------------------------------------------------------------------------
# Oracles: the reference libraries on the arrays exactly as saved.

def oracle_multiclass(t, s):
    t = np.asarray(t).reshape(-1).astype(np.int64)
    s = np.asarray(s, dtype=np.float64)
    c = s.shape[1]
    acc = accuracy_score(t, s.argmax(axis=1))
    # sklearn refuses k >= C for binary targets and scores every class a hit otherwise.
    top5 = 1.0 if c <= 5 else top_k_accuracy_score(t, s, k=5, labels=np.arange(c))
    return {"accuracy": float(acc), "top5_accuracy": float(top5), "n": len(t), "classes": c}


def oracle_multilabel(t, s):
    t = np.asarray(t, dtype=np.float64)
    s = np.asarray(s, dtype=np.float64)
    if t.ndim == 1:
        t, s = t[:, None], s[:, None]
    pos = t.sum(axis=0)
    kept = [j for j in range(t.shape[1]) if 0 < pos[j] < t.shape[0]]
    # average="macro" is the mean of the binary scores per column; calling the binary form per
    # column avoids sklearn reading a single kept column as a binary problem and averaging F1
    # over its labels 0 and 1.
    per = [(roc_auc_score(t[:, j], s[:, j]), average_precision_score(t[:, j], s[:, j]),
            f1_score(t[:, j], (expit(s[:, j]) > 0.5).astype(int), zero_division=0)) for j in kept]
    auc, ap, f1 = (float(np.mean(v)) for v in zip(*per))
    return {"roc_auc_macro": auc, "ap_macro": ap, "f1_macro": f1,
            "skipped_classes": t.shape[1] - len(kept), "n": t.shape[0], "classes": t.shape[1]}


def oracle_regression(t, p):
    r2 = r2_score(np.asarray(t, dtype=np.float64), np.asarray(p, dtype=np.float64), multioutput="raw_values")
    return {"r2": [float(x) for x in r2], "r2_mean": float(np.mean(r2)), "n": len(t)}


def oracle_key(ref, est):
    est = dict(est)
    pairs = [(k, est[i]) for i, k in ref]
    ws = [mir_eval.key.weighted_score(a, b) for a, b in pairs]
    same = [mir_eval.key.split_key_string(a) == mir_eval.key.split_key_string(b) for a, b in pairs]
    return {"weighted_score": float(np.mean(ws)), "accuracy": float(np.mean(same)), "n": len(pairs)}


def case(kind, what, args, oracle, known=None):
    """One run of `mert metrics <kind>` compared with the oracle; for a hand-made case also the
    answer written down, which the oracle must give too."""
    what = f"{kind} {what}"
    judge(what, scores_of(what, kind, *args), oracle, known)


def multiclass_case(what, t, s, known=None):
    case("multiclass", what, ["--targets", npy(t), "--scores", npy(s)], oracle_multiclass(t, s), known)


def multilabel_case(what, t, s, known=None):
    case("multilabel", what, ["--targets", npy(t), "--scores", npy(s)], oracle_multilabel(t, s), known)


def regression_case(what, t, p, known=None):
    case("regression", what, ["--targets", npy(t), "--scores", npy(p)], oracle_regression(t, p), known)


def key_case(what, ref, est, known=None):
    case("key", what, ["--ref", tsv(ref), "--est", tsv(est)], oracle_key(ref, est), known)


rng = np.random.default_rng(20240613)

# ---------------------------------------------------------------------------------------------
# 1. Multi-class: accuracy (first maximum) and top-5 (sklearn: ties rank the higher index first).
for n, c, kind in [(1, 2, "f4"), (1, 10, "f8"), (60, 6, "quant"), (300, 10, "quant"),
                   (2000, 1000, "f4"), (1500, 100, "quant"), (100000, 10, "f4")]:
    t = rng.integers(0, c, n)
    if kind == "quant":  # coarse scores: many ties inside a row
        s = np.round(rng.standard_normal((n, c)) * 1.5) / 2
    else:
        s = rng.standard_normal((n, c)).astype("<" + kind)
    multiclass_case(f"N={n} C={c} {kind}", t, s)
# Target dtypes numpy writes: int32, float holding whole numbers, uint8, bool (C = 2).
t = rng.integers(0, 8, 200)
s = np.round(rng.standard_normal((200, 8)))
for name, tt in [("int32", t.astype(np.int32)), ("float64", t.astype(np.float64)), ("[N,1] int64", t[:, None])]:
    multiclass_case(f"targets {name}", tt, s)
multiclass_case("targets bool", rng.integers(0, 2, 50).astype(bool), rng.standard_normal((50, 2)))
# Constant rows: every class tied; sklearn's top-5 are classes C-1 .. C-5, argmax is class 0.
multiclass_case("all scores tied", np.arange(7), np.zeros((7, 7), np.float32),
                {"accuracy": 1 / 7, "top5_accuracy": 5 / 7, "n": 7, "classes": 7})
multiclass_case("simple", np.array([0, 1, 2, 0]), np.array([[3., 1, 2], [0, 5, 5], [1, 0, 0], [2, 2, 1]]),
                {"accuracy": 0.75, "top5_accuracy": 1.0})

# ---------------------------------------------------------------------------------------------
# 2. Multi-label: macro ROC-AUC / AP / F1 over classes with a positive and a negative.
def labels(n, c, prevalence):
    return (rng.random((n, c)) < prevalence[None, :]).astype(np.int64)


for n, c, kind in [(2, 2, "f8"), (10, 3, "quant"), (200, 50, "f4"), (500, 20, "quant"), (1000, 1000, "f4"),
                   (100000, 10, "quant"), (30000, 8, "f8")]:
    prev = rng.uniform(0.02, 0.6, c)
    t = labels(n, c, prev)
    t[0, :], t[1, :] = 1, 0  # at least one positive and one negative in every column ...
    if n >= 10:  # ... except two single-class columns (skipped); and a constant score column
        t[:, 0] = 0
        t[:, -1] = 1
    s = rng.standard_normal((n, c)) + 0.8 * t
    if kind == "quant":
        s = np.round(s * 2) / 2
    s = s.astype("<" + ("f8" if kind == "quant" else kind))
    if c > 2:
        s[:, 1] = 0.25
    multilabel_case(f"N={n} C={c} {kind}", t, s)
t = labels(300, 12, rng.uniform(0.1, 0.5, 12))
s = np.round(rng.standard_normal((300, 12)) * 3) / 2
for name, tt in [("bool", t.astype(bool)), ("uint8", t.astype(np.uint8)), ("int32", t.astype(np.int32)),
                 ("float32", t.astype(np.float32))]:
    multilabel_case(f"targets {name}", tt, s)
multilabel_case("rare positives", labels(5000, 5, np.full(5, 0.003)), rng.standard_normal((5000, 5)))
multilabel_case("one class [N]", rng.integers(0, 2, 40), rng.standard_normal(40))
# sklearn's documented example, perfect and reversed rankings, all-tied scores, F1's threshold.
y = np.array([[0, 1, 1, 0, 1], [0, 1, 0, 1, 0], [1, 0, 1, 1, 0], [1, 0, 0, 0, 1]])
multilabel_case("known", y, np.array([[.1, 4, 7, 1, 0.], [.4, 3, 7, 0, -1], [.35, 2, 7, 2, 1e-30], [.8, 1, 7, 0, 0]]),
      # class 0: sklearn's docstring example (AUC .75, AP 5/6); 1: perfect ranking; 2: all scores tied
      # (AUC .5, AP = prevalence); 3: a tie across a positive and a negative counts half (AUC 2.5/4,
      # AP .5 * 1 + .5 * .5); 4: a negative above two tied positives (AUC .5, AP 2/3).
      # F1 predicts score > 0: 2/3, 2/3, 2/3, tp 1 fp 1 fn 1 -> 1/2, and 0 (score 0 is negative,
      # 1e-30 positive: tp 0).
      {"roc_auc_macro": (0.75 + 1 + 0.5 + 0.625 + 0.5) / 5, "ap_macro": (5 / 6 + 1 + 0.5 + 0.75 + 2 / 3) / 5,
       "f1_macro": (2 / 3 + 2 / 3 + 2 / 3 + 1 / 2 + 0) / 5, "skipped_classes": 0})
multilabel_case("skipped", np.array([[1, 0, 1], [0, 0, 1]]), np.array([[2., 0, 0], [-1, 1, 1]]),
      {"roc_auc_macro": 1.0, "ap_macro": 1.0, "f1_macro": 1.0, "skipped_classes": 2})

# ---------------------------------------------------------------------------------------------
# 3. Regression: r2 per output and their mean; sklearn's constant-target rule.
for n, k, kind in [(2, 1, "f8"), (3, 2, "f4"), (100, 2, "f8"), (1000, 5, "f4"), (100000, 3, "f8")]:
    t = rng.standard_normal((n, k)) * rng.uniform(0.5, 3, k) + rng.uniform(-2, 2, k)
    p = t + rng.standard_normal((n, k)) * rng.uniform(0.1, 2, k)
    regression_case(f"N={n} K={k} {kind}", t.astype("<" + kind), p.astype("<" + kind))
t = rng.standard_normal(50)
regression_case("[N] vs [N, 1]", t, (t + rng.standard_normal(50))[:, None])
regression_case("integer targets", rng.integers(0, 5, (40, 2)), rng.standard_normal((40, 2)) + 2)
# Constant (dyadic, so numpy's mean is exact) target columns predicted exactly and not.
tc = np.stack([np.full(20, 0.5), np.full(20, 3.0), rng.standard_normal(20)], axis=1)
pc = np.stack([np.full(20, 0.5), np.full(20, 3.25), rng.standard_normal(20)], axis=1)
regression_case("constant target columns", tc, pc)
regression_case("known", np.array([[1., 5, 1], [2, 5, 2], [3, 5, 3]]), np.array([[1., 5, 2], [2, 5, 2], [3, 5, 2]]),
                {"r2": [1.0, 1.0, 0.0], "r2_mean": 2 / 3, "n": 3})

# ---------------------------------------------------------------------------------------------
# 4. Keys: mir_eval.key.weighted_score, every spelling mir_eval reads.
SPELL = [["C"], ["C#", "Db"], ["D"], ["D#", "Eb"], ["E"], ["F"], ["F#", "Gb"], ["G"], ["G#", "Ab"], ["A"],
         ["A#", "Bb"], ["B"]]


def spell(i):
    tonic = SPELL[i % 12][rng.integers(len(SPELL[i % 12]))]
    tonic = tonic.lower() if rng.random() < 0.3 else tonic
    return tonic + (" " if rng.random() < 0.8 else "  ") + ("minor" if i >= 12 else "major")


ref, est = [], []
for a in range(24):  # every (reference, estimate) pair once
    for b in range(24):
        ref.append((f"id{a:02d}_{b:02d}", spell(a)))
        est.append((f"id{a:02d}_{b:02d}", spell(b)))
est.reverse()  # order of lines does not matter
key_case("all 576 pairs", ref, est)
ids = [f"track{i}" for i in range(1000)]
r = rng.integers(0, 24, 1000)
e = np.where(rng.random(1000) < 0.5, r, rng.integers(0, 24, 1000))
key_case("1000 ids", [(i, spell(x)) for i, x in zip(ids, r)], [(i, spell(x)) for i, x in zip(ids, e)])
key_case("one id", [("x", "Eb minor")], [("x", "d# minor")], {"weighted_score": 1.0, "accuracy": 1.0, "n": 1})
key_case("one id, fifth below", [("x", "C major")], [("x", "F major")], {"weighted_score": 0.0, "accuracy": 0.0})
# The relations one by one (each pair's score is also in the 576-pair mean above).
rel = [("C major", "G major", 0.5), ("C major", "F major", 0.0), ("C major", "A minor", 0.3),
       ("A minor", "C major", 0.3), ("C major", "C minor", 0.2), ("Eb minor", "d# minor", 1.0),
       ("A minor", "E minor", 0.5), ("A minor", "D minor", 0.0), ("C minor", "A major", 0.0)]
key_case("relations", [(f"p{i}", a) for i, (a, b, w) in enumerate(rel)], [(f"p{i}", b) for i, (a, b, w) in enumerate(rel)],
         {"weighted_score": sum(w for a, b, w in rel) / len(rel), "accuracy": 1 / len(rel)})
for a, b, w in rel:
    check(mir_eval.key.weighted_score(a, b) == w, f"oracle agrees: mir_eval {a} / {b} = {w}")
p = path(".tsv")
with open(p, "w") as f:
    f.write("a\tC major\r\n\n  \nb\tE minor\r\n")  # CRLF and blank lines
compare("key CRLF and blank lines", scores_of("key CRLF", "key", "--ref", p, "--est",
                                             tsv([("b", "G major"), ("a", "C major")])),
        {"weighted_score": 0.65, "accuracy": 0.5, "n": 2})

# ---------------------------------------------------------------------------------------------
# 5. Bad input: exit code 2, one line on stderr naming the problem, nothing on stdout.
T = npy(rng.integers(0, 4, 10))
S = npy(rng.standard_normal((10, 4)))
nan_s = rng.standard_normal((10, 4))
nan_s[3, 2] = np.nan
inf_s = rng.standard_normal((10, 4))
inf_s[0, 0] = -np.inf
ML = npy(rng.integers(0, 2, (10, 4)))
empty = path(".npy")
open(empty, "wb").close()
c64 = npy(np.zeros((10, 4), np.complex64))
s16 = rng.standard_normal((10, 4)).astype(np.float16)
bad("mc shape", ["multiclass", "--targets", npy(rng.integers(0, 4, 11)), "--scores", S], "mismatch")
bad("mc 1-D scores", ["multiclass", "--targets", T, "--scores", npy(rng.standard_normal(10))], "[N, C]")
bad("mc NaN", ["multiclass", "--targets", T, "--scores", npy(nan_s)], "non-finite")
bad("mc inf", ["multiclass", "--targets", T, "--scores", npy(inf_s)], "non-finite")
bad("mc class = C", ["multiclass", "--targets", npy(np.array([0, 1, 4] + [0] * 7)), "--scores", S], "[0, 4)")
bad("mc class < 0", ["multiclass", "--targets", npy(np.array([-1] + [0] * 9)), "--scores", S], "[0, 4)")
bad("mc fractional class", ["multiclass", "--targets", npy(np.array([1.5] + [0] * 9)), "--scores", S], "class index")
bad("mc N = 0", ["multiclass", "--targets", npy(np.zeros(0, np.int64)), "--scores", npy(np.zeros((0, 4)))], "row")
bad("mc 0-byte file", ["multiclass", "--targets", empty, "--scores", S], "empty")
bad("mc missing file", ["multiclass", "--targets", os.path.join(tmp, "nope.npy"), "--scores", S], "nope.npy")
bad("mc missing option", ["multiclass", "--scores", S], "--targets")
bad("mc complex64", ["multiclass", "--targets", T, "--scores", c64], "<c8")
# float16 arrays (numpy's half) are read as their exact float32 values.
got16 = scores_of("mc float16", "multiclass", "--targets", T, "--scores", npy(s16))
got32 = scores_of("mc float16 as float32", "multiclass", "--targets", T, "--scores", npy(s16.astype(np.float32)))
check(got16 is not None and got16 == got32, "mc float16 scores: the same numbers as their float32 copy")
bad("ml shape", ["multilabel", "--targets", ML, "--scores", npy(rng.standard_normal((10, 5)))], "mismatch")
bad("ml rows", ["multilabel", "--targets", ML, "--scores", npy(rng.standard_normal((9, 4)))], "mismatch")
bad("ml NaN", ["multilabel", "--targets", ML, "--scores", npy(nan_s)], "non-finite")
bad("ml target 2", ["multilabel", "--targets", npy(np.full((10, 4), 2)), "--scores", S], "0 or 1")
bad("ml target 0.5", ["multilabel", "--targets", npy(np.full((10, 4), 0.5)), "--scores", S], "0 or 1")
bad("ml N = 1 (every class skipped)", ["multilabel", "--targets", npy(np.array([[0, 1]])),
                                       "--scores", npy(np.array([[0.5, 1.0]]))], "skipped")
bad("ml N = 0", ["multilabel", "--targets", npy(np.zeros((0, 4))), "--scores", npy(np.zeros((0, 4)))], "row")
bad("ml 3-D", ["multilabel", "--targets", npy(np.zeros((2, 2, 2))), "--scores", npy(np.zeros((2, 2, 2)))], "shape")
bad("rg shape", ["regression", "--targets", npy(rng.standard_normal((10, 2))),
                 "--scores", npy(rng.standard_normal((10, 3)))], "mismatch")
bad("rg NaN target", ["regression", "--targets", npy(np.array([1.0, np.nan, 2])),
                      "--scores", npy(np.array([1.0, 2, 3]))], "non-finite")
bad("rg N = 1 (sklearn: NaN)", ["regression", "--targets", npy(np.array([1.0])), "--scores", npy(np.array([1.0]))],
    "at least 2")
REF = tsv([("a", "C major"), ("b", "D minor")])
for name in ["H minor", "C Major", "X", "C other"]:  # the rest of the spelling rules: tests/unit/test_metrics.cpp
    bad(f"key {name!r}", ["key", "--ref", REF, "--est", tsv([("a", name), ("b", "D minor")])], "unknown key")
p = path(".tsv")
with open(p, "w") as f:
    f.write("a C major\nb\tD minor\n")
bad("key no tab", ["key", "--ref", REF, "--est", p], "id<TAB>key")
bad("key empty file", ["key", "--ref", REF, "--est", tsv([])], "empty")
p = path(".tsv")
with open(p, "w") as f:
    f.write("\n \n")
bad("key blank file", ["key", "--ref", REF, "--est", p], "empty")
bad("key missing file", ["key", "--ref", REF, "--est", os.path.join(tmp, "none.tsv")], "none.tsv")
bad("key duplicate id", ["key", "--ref", REF, "--est", tsv([("a", "C major"), ("b", "D minor"), ("a", "C major")])],
    "duplicate id 'a'")
many = [(f"x{i}", "C major") for i in range(8)]
bad("key ids differ", ["key", "--ref", tsv([("a", "C major")] + many), "--est", tsv([("a", "C major"), ("z", "E major")])],
    "8 ids only in")
bad("key ids differ (names)", ["key", "--ref", REF, "--est", tsv([("a", "C major"), ("z", "E major")])],
    "1 id only in " + REF + " ('b'), 1 id only in")
bad("unknown kind", ["frobnicate"], "unknown kind")
bad("unknown option", ["multiclass", "--targets", T, "--scores", S, "--bogus", "1"], "--bogus")
bad("no kind", [], "")
# A corrupt .npy whose error quotes its header (which ends in a newline) still gives one line.
raw = open(S, "rb").read()
p = path(".npy")
open(p, "wb").write(raw[:8] + raw[8:].replace(b"'descr'", b"'descX'", 1))
bad("corrupt npy header", ["multiclass", "--targets", T, "--scores", p], "invalid .npy")

# Help is exit 0 on stdout.
for args in [["--help"], ["multilabel", "--help"]]:
    p = run(*args)
    check(p.returncode == 0 and "usage: mert metrics" in p.stdout, "help " + " ".join(args))

finish()
