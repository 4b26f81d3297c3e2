"""Prints the table in data/unicode_lower.cpp: Python's str.lower() of every single character.

torchtext's Field(lower=True) lower-cases each token with str.lower; a token here is one
character. The C++ side needs the same mapping without a Unicode library, so this script
packs {c: chr(c).lower()} into runs (first, last, delta, stride): every stride-th code point
from first to last lowers to itself + delta. The one character whose lower case is two
characters (U+0130) is kept out of the table and handled by name in the C++.

Usage: unicode_lower_table.py > table.txt, then paste between the markers in data/unicode_lower.cpp.
"""
import sys
import unicodedata

MULTI = {0x130: "i\u0307"}  # LATIN CAPITAL LETTER I WITH DOT ABOVE -> i + COMBINING DOT ABOVE


def runs():
    out = []  # [first, last, delta, stride]
    for c in range(0x110000):
        low = chr(c).lower()
        if low == chr(c):
            continue
        if len(low) != 1:
            if MULTI.get(c) != low:
                sys.exit(f"U+{c:04X} lowers to {len(low)} characters; data/unicode_lower.cpp handles only {MULTI}")
            continue
        delta = ord(low) - c
        if out and out[-1][2] == delta and c - out[-1][1] == out[-1][3]:
            out[-1][1] = c
        elif out and out[-1][2] == delta and out[-1][0] == out[-1][1] and c - out[-1][1] in (1, 2):
            out[-1][1], out[-1][3] = c, c - out[-1][1]
        else:
            out.append([c, c, delta, 1])
    return out


def main():
    table = runs()
    print(f"// Python {sys.version.split()[0]}, Unicode {unicodedata.unidata_version}: {len(table)} runs")
    cells = [f"{{0x{a:05X}, 0x{b:05X}, {d}, {s}}}," for a, b, d, s in table]
    for i in range(0, len(cells), 3):
        print("    " + " ".join(cells[i:i + 3]))


if __name__ == "__main__":
    main()
