"""Checks of a `mert probe` output dir against `mert metrics` and libraries nobody on the team wrote
(scikit-learn, mir_eval). Used by tests/probe/test_probe_cli.py and bench/probe_verify.py."""
import json
import os
import subprocess

import numpy as np
from sklearn.metrics import average_precision_score, r2_score, roc_auc_score
import mir_eval

KINDS = {"multiclass": ["accuracy", "top5_accuracy"], "key": ["weighted_score", "accuracy"],
         "multilabel": ["roc_auc_macro", "ap_macro", "f1_macro", "skipped_classes"], "regression": ["r2", "r2_mean"]}


def metrics_cli(mert, kind, d):
    """What `mert metrics` says of the saved test predictions."""
    if kind == "key":
        args = ["key", "--ref", f"{d}/test_keys_ref.tsv", "--est", f"{d}/test_keys.tsv"]
    else:
        args = [kind, "--targets", f"{d}/test_targets.npy", "--scores", f"{d}/test_scores.npy"]
    p = subprocess.run([mert, "metrics", *args], capture_output=True, text=True, check=True)
    return json.loads(p.stdout)


def oracle(kind, d):
    """The test metrics recomputed with scikit-learn / mir_eval."""
    if kind == "key":
        ref = dict(l.rstrip("\n").split("\t") for l in open(f"{d}/test_keys_ref.tsv"))
        est = dict(l.rstrip("\n").split("\t") for l in open(f"{d}/test_keys.tsv"))
        scores = [mir_eval.key.weighted_score(ref[i], est[i]) for i in ref]
        return {"weighted_score": float(np.mean(scores)), "accuracy": float(np.mean([ref[i] == est[i] for i in ref]))}
    y, s = np.load(f"{d}/test_targets.npy"), np.load(f"{d}/test_scores.npy")
    if kind == "multiclass":
        return {"accuracy": float(np.mean(np.argmax(s, 1) == y))}
    if kind == "multilabel":
        keep = [c for c in range(y.shape[1]) if 0 < y[:, c].sum() < len(y)]
        return {"roc_auc_macro": roc_auc_score(y[:, keep], s[:, keep], average="macro"),
                "ap_macro": average_precision_score(y[:, keep], s[:, keep], average="macro"),
                "skipped_classes": y.shape[1] - len(keep)}
    if kind == "regression":
        return {"r2_mean": r2_score(y, s)}
    raise ValueError(kind)


def verify(mert, d):
    """(ok, message) pairs for one task's output dir."""
    r = json.load(open(f"{d}/results.json"))
    kind, test, task = r["type"], r["test"], r["task"]
    out = []
    cli = metrics_cli(mert, kind, d)
    common = (set(cli) & set(test)) - {"n", "classes"}
    same = all(np.allclose(cli[k], test[k], rtol=0, atol=1e-9) for k in common)
    out.append((same and common >= set(KINDS[kind]),
                f"{task}: results.json test == mert metrics on the saved predictions ({', '.join(sorted(common))})"))
    ref = oracle(kind, d)
    out.append((all(abs(ref[k] - test[k]) <= 1e-6 for k in ref),
                f"{task}: == scikit-learn / mir_eval ({', '.join(f'{k} {v:.6f}' for k, v in ref.items())})"))
    valids = [p["valid"] for p in r["sweep"]]
    best = r["sweep"][int(np.argmax(valids))]
    out.append((r["chosen"]["lr"] == best["lr"] and r["chosen"]["layer"] == best["layer"]
                and r["chosen"]["test"] == best["test"],
                f"{task}: chosen point = best validation point of the {len(valids)}-point sweep"))
    n_ids = len(open(f"{d}/test_ids.txt").read().split())
    out.append((n_ids == r["items"]["test"] == len(np.load(f"{d}/test_scores.npy")), f"{task}: one prediction per test item"))
    return out


def task_dirs(root):
    """A task's output dir, or every task dir of a suite's output dir."""
    if os.path.exists(f"{root}/results.json"):
        return [root]
    return sorted(f"{root}/{n}" for n in os.listdir(root) if os.path.exists(f"{root}/{n}/results.json"))
