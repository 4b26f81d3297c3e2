"""Writes the Python reference the C++ tests compare against, and the manifest that lists it.

The llm.c pattern: the Python twin writes the reference state, the C++ tests read it and check
that it is what they expect. Each part is one exporter module of this folder and writes its
files into OUT/<part>/ (emptied first); OUT/manifest.json then lists every file written, with
its part, size and sha256. The tests (tests/reference.h, reference_file) open only files the
manifest lists, with the size and hash it gives, so a part that never ran, or a file left by
another run, fails by name instead of comparing against something stale.

CTest runs this as the python_reference fixture, one test per part (--only PART), into
build/reference (build-torch2/reference on the pip path); the parts run side by side then, and
each updates the manifest under a lock. To regenerate by hand, with the python whose torch matches the LibTorch the
build links (/usr/bin/python3 for build/, the pip venv's for build-torch2/):

    /usr/bin/python3 notebooks-ref/export.py --out build/reference               # every part
    /usr/bin/python3 notebooks-ref/export.py --out build/reference --only lm     # one part again

CHARNN_REFERENCE_DIR=DIR points the tests at another folder written this way.
"""
import argparse
import fcntl
import hashlib
import json
import os
import shutil
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export_generate_reference  # noqa: E402
import export_lm_reference  # noqa: E402
import export_reference  # noqa: E402
import export_stateful_reference  # noqa: E402
import lesson6 as L  # noqa: E402
import stateful_trajectory  # noqa: E402
import trajectory  # noqa: E402

# part -> how to write it into its folder, given the corpus path (the parts that need no
# corpus ignore it)
PARTS = {
    "models": lambda out, text: export_reference.export(out),  # the windowed models: one step
    "trajectory": trajectory.export,                          # their training trajectories
    "lm": export_lm_reference.export,                         # LanguageModelData, numpy's stream
    "stateful": lambda out, text: export_stateful_reference.export(out),  # the four stateful models
    "stateful_trajectory": stateful_trajectory.export,        # their training trajectories
    "generate": lambda out, text: export_generate_reference.export(out),  # their get_next_n
}
MANIFEST = "manifest.json"


def file_entry(out, part, path):
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    return {"part": part, "path": os.path.relpath(path, out), "size": os.path.getsize(path), "sha256": digest}


def export_part(out, part, text):
    folder = os.path.join(out, part)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    PARTS[part](folder, text)
    return [file_entry(out, part, os.path.join(root, name))
            for root, _, names in os.walk(folder) for name in names]


def update_manifest(out, parts, entries):
    """Replaces the entries of `parts` and keeps the other parts': several of these processes
    may run side by side (one per part), so the read and the write happen under one lock."""
    with open(os.path.join(out, MANIFEST + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        path = os.path.join(out, MANIFEST)
        manifest = {"parts": {}, "files": []}
        if os.path.exists(path):
            with open(path) as f:
                manifest = json.load(f)
        keep = [p for p in manifest["parts"] if p in PARTS and p not in parts]
        manifest["parts"] = {p: manifest["parts"][p] for p in keep}
        manifest["parts"].update({p: {"torch_version": torch.__version__} for p in parts})
        manifest["files"] = sorted([e for e in manifest["files"] if e["part"] in keep] + entries,
                                   key=lambda e: e["path"])
        with open(path + ".tmp", "w") as f:
            json.dump(manifest, f, indent=1)
        os.replace(path + ".tmp", path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="the reference folder (created if needed)")
    ap.add_argument("--only", nargs="+", choices=list(PARTS), metavar="PART",
                    help=f"write only these parts (default: all of {', '.join(PARTS)})")
    ap.add_argument("--text", help="the corpus (default: $CHARNN_TEXT, then data/nietzsche.txt)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    parts = args.only or list(PARTS)
    text = L.corpus_path(args.text)
    entries = [entry for part in parts for entry in export_part(args.out, part, text)]
    update_manifest(args.out, parts, entries)
    print(f"{args.out}/{MANIFEST}: {len(entries)} file(s) of part(s) {', '.join(parts)}")


if __name__ == "__main__":
    main()
