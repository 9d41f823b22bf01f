#!/usr/bin/python3
"""Compares the tensors of two safetensors files (models or pre-training checkpoints) bit for bit.

    bench/compare_weights.py A.safetensors B.safetensors

Prints one line per tensor that differs (name, max |a - b|), the count of identical tensors and
the sha256 of the concatenated tensor bytes of each file, and exits 0 only if every tensor is
identical in name, dtype, shape and bytes. The JSON header's `__metadata__` (which records paths
and settings, not weights) is ignored, so a rerun in another directory can still compare equal.
Reads the format directly (8-byte little-endian header length, JSON header, raw data), so it needs
only numpy.
"""
import hashlib
import json
import struct
import sys

import numpy as np

DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
          "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}


def read(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    header.pop("__metadata__", None)
    return header, data


def values(meta, raw):
    if meta["dtype"] == "BF16":  # widen to float32 for the difference only
        u16 = np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16
        return u16.view(np.float32)
    return np.frombuffer(raw, dtype=DTYPES[meta["dtype"]]).astype(np.float64)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    (ha, da), (hb, db) = read(sys.argv[1]), read(sys.argv[2])
    same, differ = 0, []
    digest = [hashlib.sha256(), hashlib.sha256()]
    for name in sorted(set(ha) | set(hb)):
        if name not in ha or name not in hb:
            differ.append(f"{name}: only in {'A' if name in ha else 'B'}")
            continue
        ma, mb = ha[name], hb[name]
        ra = da[ma["data_offsets"][0]:ma["data_offsets"][1]]
        rb = db[mb["data_offsets"][0]:mb["data_offsets"][1]]
        digest[0].update(name.encode() + ra)
        digest[1].update(name.encode() + rb)
        if ma["dtype"] != mb["dtype"] or ma["shape"] != mb["shape"]:
            differ.append(f"{name}: {ma['dtype']}{ma['shape']} vs {mb['dtype']}{mb['shape']}")
        elif ra != rb:
            diff = np.abs(values(ma, ra).astype(np.float64) - values(mb, rb).astype(np.float64)).max()
            differ.append(f"{name}: max |a - b| = {diff:.3g}")
        else:
            same += 1
    for line in differ:
        print("DIFFERS  " + line)
    print(f"{same} tensors identical, {len(differ)} differ")
    print(f"tensor sha256 A {digest[0].hexdigest()}")
    print(f"tensor sha256 B {digest[1].hexdigest()}")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
