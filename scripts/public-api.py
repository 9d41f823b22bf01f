#!/usr/bin/env python3
"""Counts libmert's public declarations: what include/<dir>/*.h declare in namespace mert.

Usage: scripts/public-api.py [--list] [--include DIR] [--build BUILD_DIR]
Parses every header with libclang (python3-clang-14), with the compile flags the build uses for
src/ (compile_commands.json), and counts namespace-scope declarations (functions, classes,
structs, enums, aliases, variables) and the public members of those classes. Prints one line
per header and the totals; --list prints every declaration.
"""
import argparse
import glob
import json
import os
import shlex
import sys

import clang.cindex as ci

ci.Config.set_library_file("/usr/lib/llvm-14/lib/libclang.so.1")
TOP = {ci.CursorKind.FUNCTION_DECL, ci.CursorKind.CLASS_DECL, ci.CursorKind.STRUCT_DECL,
       ci.CursorKind.ENUM_DECL, ci.CursorKind.TYPE_ALIAS_DECL, ci.CursorKind.TYPEDEF_DECL,
       ci.CursorKind.VAR_DECL, ci.CursorKind.FUNCTION_TEMPLATE, ci.CursorKind.CLASS_TEMPLATE}
MEMBER = {ci.CursorKind.CXX_METHOD, ci.CursorKind.FIELD_DECL, ci.CursorKind.CONSTRUCTOR,
          ci.CursorKind.FUNCTION_TEMPLATE, ci.CursorKind.VAR_DECL}


def compile_flags(build):
    with open(os.path.join(build, "compile_commands.json")) as f:
        for entry in json.load(f):
            if "/src/embed/" in entry["file"]:
                args, out = shlex.split(entry["command"])[1:], []
                for i, arg in enumerate(args):
                    if arg.startswith(("-I", "-D", "-std")):
                        out.append(arg)
                    elif arg == "-isystem":
                        out += [arg, args[i + 1]]
                return out
    sys.exit("no compile command for src/embed in " + build)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--include", default="include")
    p.add_argument("--build", default="build")
    p.add_argument("--list", action="store_true")
    a = p.parse_args()
    inc = os.path.abspath(a.include)
    headers = sorted(glob.glob(os.path.join(inc, "mert", "*.h")))
    flags = ["-x", "c++", "-I" + inc] + compile_flags(a.build)
    src = "".join(f'#include "{h}"\n' for h in headers)
    tu = ci.Index.create().parse("all.cpp", args=flags, unsaved_files=[("all.cpp", src)],
                                 options=ci.TranslationUnit.PARSE_SKIP_FUNCTION_BODIES)
    errors = [d for d in tu.diagnostics if d.severity >= ci.Diagnostic.Error]
    if errors:
        sys.exit("parse errors:\n" + "\n".join(str(e) for e in errors[:10]))
    seen, per_header = set(), {os.path.basename(h): [0, 0] for h in headers}

    def ours(c):
        return c.location.file and os.path.dirname(os.path.abspath(c.location.file.name)) == os.path.join(inc, "mert")

    def visit(node, in_mert):
        for c in node.get_children():
            if c.kind == ci.CursorKind.NAMESPACE:
                visit(c, in_mert or c.spelling == "mert")
            elif in_mert and c.kind in TOP and ours(c):
                key = (c.kind, c.displayname, c.location.file.name, c.location.line)
                if key in seen or (c.kind in (ci.CursorKind.CLASS_DECL, ci.CursorKind.STRUCT_DECL)
                                   and not c.is_definition()):
                    continue
                seen.add(key)
                h = os.path.basename(c.location.file.name)
                per_header[h][0] += 1
                if a.list:
                    print(f"{h}:{c.location.line}: {c.kind.name.lower()} {c.displayname}")
                for m in c.get_children():
                    if m.kind in MEMBER and m.access_specifier == ci.AccessSpecifier.PUBLIC:
                        per_header[h][1] += 1
                        if a.list:
                            print(f"{h}:{m.location.line}:   {m.kind.name.lower()} {c.spelling}::{m.displayname}")

    visit(tu.cursor, False)
    top = sum(v[0] for v in per_header.values())
    mem = sum(v[1] for v in per_header.values())
    if not a.list:
        for h, (t, m) in per_header.items():
            print(f"{h:24s} {t:4d} declarations {m:4d} public members")
    print(f"{len(headers)} headers: {top} namespace-scope declarations, {mem} public members, {top + mem} in all")


if __name__ == "__main__":
    main()
