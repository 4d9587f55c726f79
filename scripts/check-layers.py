#!/usr/bin/env python3
"""Fails when the runtime's modules import each other in a circle.

Each top-level module of a crate's src/ (src/foo.rs or src/foo/**) is a node; every
`crate::name` path in its code (use lines, `use crate::{a, b::c}` groups, paths in
expressions) is an edge to module `name`. Comments and `#[cfg(test)] mod tests` are
left out: unit tests may use anything. Prints the layers bottom-up (each module imports
only from lines above it) or every cycle, and exits 1 on a cycle.

Usage: scripts/check-layers.py [CRATE_SRC_DIR]   (default: monitoring-runtime/src)
"""
import os
import re
import sys


def modules(src):
    mods = set()
    for name in os.listdir(src):
        if name.endswith(".rs") and name not in ("lib.rs", "main.rs"):
            mods.add(name[:-3])
        elif os.path.isdir(os.path.join(src, name)):
            mods.add(name)
    return mods


def imports(src, mods):
    edges = {m: set() for m in mods}
    for root, _, files in os.walk(src):
        for f in files:
            if not f.endswith(".rs"):
                continue
            top = os.path.relpath(os.path.join(root, f), src).split(os.sep)[0]
            top = top[:-3] if top.endswith(".rs") else top
            if top not in mods:
                continue
            with open(os.path.join(root, f), encoding="utf-8") as fh:
                text = re.sub(r"//[^\n]*", "", fh.read())
            tests = re.search(r"#\[cfg\(test\)\]\s*mod\s+tests", text)
            if tests:
                text = text[: tests.start()]
            for m in re.finditer(r"crate::(\{[^}]*\}|\w+)", text):
                group = m.group(1)
                names = re.findall(r"(?:^|[{,]\s*)(\w+)", group) if group.startswith("{") else [group]
                edges[top].update(n for n in names if n in mods and n != top)
    return edges


def cycles(edges):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def layers(edges):
    depth = {}

    def d(v):
        if v not in depth:
            depth[v] = 1 + max((d(w) for w in edges[v]), default=0)
        return depth[v]

    for v in edges:
        d(v)
    out = {}
    for v, n in depth.items():
        out.setdefault(n, []).append(v)
    return [sorted(out[n]) for n in sorted(out)]


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "monitoring-runtime/src"
    edges = imports(src, modules(src))
    found = cycles(edges)
    if found:
        for comp in found:
            inner = sorted(f"{a}->{b}" for a in comp for b in edges[a] if b in comp)
            print(f"cycle: {', '.join(comp)} ({'; '.join(inner)})")
        sys.exit(1)
    for n, mods in enumerate(layers(edges), 1):
        print(f"layer {n}: {', '.join(mods)}")


main()
