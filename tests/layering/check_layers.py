#!/usr/bin/env python3
"""Fails when a source file includes a header from a layer above its own, or when a public
header (include/mert) needs libtorch or an internal header. The layer map is the one in
CMakeLists.txt and docs/ARCHITECTURE.md.

Usage: check_layers.py [SOURCE_DIR]   (exit 1 and one line per violation)
"""
import os
import re
import sys

# Each layer and the layers it may use (itself included).
ALLOWED = {
    "core": {"core"},
    "teachers": {"core", "teachers"},
    "eval": {"core", "teachers", "eval"},
    "train": {"core", "teachers", "train"},
    "synth": {"core", "synth"},
}
SRC_LAYER = {"util": "core", "io": "core", "audio": "core", "data": "core", "model": "core",
             "embed": "core", "api": "core", "teachers": "teachers", "metrics": "eval",
             "probe": "eval", "train": "train", "synth": "synth"}
PUBLIC_LAYER = {"audio": "core", "config": "core", "embed_options": "core", "error": "core", "mert": "core",
                "chroma": "teachers", "cqt": "teachers", "feature_matrix": "teachers", "logmel": "teachers",
                "mfcc": "teachers", "teacher_features": "teachers", "metrics": "eval",
                "beat_tracker": "eval", "pretrain": "train", "synth": "synth"}
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)
TORCH = ("torch/", "ATen/", "c10/", "caffe2/")


def layer_of_header(path):
    """The layer an included "dir/name.h" or "mert/name.h" belongs to, or None if not ours."""
    top, _, rest = path.partition("/")
    if top == "mert":
        name = rest[:-2] if rest.endswith(".h") else rest
        return PUBLIC_LAYER.get(name, "unknown public header")
    return SRC_LAYER.get(top)


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../.."))
    bad = []
    public = os.path.join(root, "include", "mert")
    names = {f[:-2] for f in os.listdir(public) if f.endswith(".h")}
    for name in sorted(names ^ set(PUBLIC_LAYER)):
        bad.append(f"include/mert/{name}.h: " + ("not in the layer map" if name in names else "listed but missing"))
    for f in sorted(os.listdir(public)):
        if not f.endswith(".h"):
            continue
        own = PUBLIC_LAYER.get(f[:-2])
        text = open(os.path.join(public, f)).read()
        for kind, inc in INCLUDE.findall(text):
            where = f"include/mert/{f}: includes {inc}"
            if inc.startswith(TORCH):
                bad.append(where + " (public headers are torch-free)")
            elif kind == '"' and not inc.startswith("mert/"):
                bad.append(where + " (an internal header)")
            elif kind == '"' and own and layer_of_header(inc) not in ALLOWED[own]:
                bad.append(where + f" (layer {layer_of_header(inc)} is above {own})")
    for d in sorted(os.listdir(os.path.join(root, "src"))):
        own = SRC_LAYER.get(d)
        if own is None:
            bad.append(f"src/{d}: a directory with no layer (add it to the map)")
            continue
        for f in sorted(os.listdir(os.path.join(root, "src", d))):
            if not f.endswith((".h", ".cpp")):
                continue
            for kind, inc in INCLUDE.findall(open(os.path.join(root, "src", d, f)).read()):
                layer = layer_of_header(inc) if kind == '"' else None
                if layer and layer not in ALLOWED[own]:
                    bad.append(f"src/{d}/{f}: includes {inc} (layer {layer}; {own} may use {sorted(ALLOWED[own])})")
    for line in bad:
        print(line)
    n_src = sum(len(fs) for _, _, fs in os.walk(os.path.join(root, "src")))
    print(f"{len(bad)} layering violation(s) in {n_src} source files and {len(names)} public headers")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
