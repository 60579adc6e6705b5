#!/usr/bin/python3
"""Independent, deliberately naive STAR reader for tests/test_star.c.

For each data block of each file given, prints one line
    <file> <block> <is_loop> <nrows> <ncols> <fnv1a-64 hex>
where the hash runs over every label and then every value (row by row), each followed by a NUL
byte, labels without the leading underscore. Rows are split on blanks (shlex for quotes), one row
per line, as RELION writes them. Uses only the standard library.
"""
import shlex
import sys


def fnv(h, s):
    for b in s.encode() + b"\0":
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def blocks(path):
    out, cur = [], None
    for line in open(path, encoding="utf-8", errors="replace"):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if s.startswith("data_"):
            cur = {"name": s[5:].split()[0] if len(s) > 5 else "", "loop": 0, "labels": [], "rows": []}
            out.append(cur)
        elif s.startswith("loop_"):
            cur["loop"] = 1
        elif s.startswith("_"):
            tok = s.split()
            cur["labels"].append(tok[0][1:])
            if not cur["loop"]:
                if not cur["rows"]:
                    cur["rows"].append([])
                cur["rows"][0].append(shlex.split(s)[1])
        else:
            cur["rows"].append(shlex.split(s, comments=True))
    return out


for path in sys.argv[1:]:
    for b in blocks(path):
        h = 0xCBF29CE484222325
        for lab in b["labels"]:
            h = fnv(h, lab)
        for row in b["rows"]:
            for v in row:
                h = fnv(h, v)
        nrows = len(b["rows"]) if b["loop"] else 1
        print("%s %s %d %d %d %016x" % (path, b["name"] or "-", b["loop"], nrows, len(b["labels"]), h))
