"""Writes the Python reference for the stateful section's data (tests/test_language_model_data.cpp).

  lm_reference.json  the notebook's numbers as lesson6_stateful.py computes them, TEXT.vocab.itos,
                     and "small": a tiny vocabulary (İ, Æ, ties) and a split of mixed line ends
  lm_batches.pt      after np.random.seed(SEED): every batch of a training epoch, a validation epoch
                     and a second training epoch, all drawn from the one global stream. Per pass
                     "<pass>.x" and "<pass>.y" are the batches' x and y flattened and concatenated
                     (uint8: the vocabulary has 56 entries), "<pass>.sl" the sequence lengths
  numpy_random.pt    "seed<s>": np.random.random() and np.random.normal(loc, scale) interleaved,
                     with a re-seed in the middle while a Gaussian waits in the cache (see draws())
  lower.pt           "code_points": every c with chr(c).lower() != chr(c); "lower": its lower case,
                     as (n, 2) code points, -1 where it is one character

Written by export.py (part "lm").
"""
import json
import os
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lesson6_stateful as S  # noqa: E402

SEED = 42  # docs/lesson-semantics.md's test vectors (§3.4, §3.5, §9.4) start from np.random.seed(42)
DRAW_SEEDS = [42, 0, 2**32 - 1]


def export_batches(text_path, out_dir):
    with tempfile.TemporaryDirectory() as path:
        TEXT, md = S.lesson_md(text_path, path)
    tensors = {}
    np.random.seed(SEED)
    for name, dl in (("trn", md.trn_dl), ("val", md.val_dl), ("trn2", md.trn_dl)):
        batches = list(dl)
        tensors[f"{name}.x"] = torch.cat([x.reshape(-1) for x, _ in batches]).to(torch.uint8)
        tensors[f"{name}.y"] = torch.cat([y for _, y in batches]).to(torch.uint8)
        tensors[f"{name}.sl"] = torch.tensor([len(x) for x, _ in batches], dtype=torch.int64)
    torch.save(tensors, os.path.join(out_dir, "lm_batches.pt"))
    return {"seed": SEED, "trn_lines": S.TRN_LINES, "itos": TEXT.vocab.itos,
            "notebook": [len(md.trn_dl), md.nt, len(md.trn_ds), len(md.trn_ds[0].text)],
            "pad_idx": md.pad_idx, "val_len": len(md.val_dl), "val_tokens": len(md.val_ds[0].text),
            "trn_rows": len(md.trn_dl.data), "val_rows": len(md.val_dl.data)}


SMALL_TEXT = "\u0130\u0130\u0130aaAb\n\n\n\u00c6\u00e6\u00e6"  # İ lowers to two characters, Æ to æ
SPLIT_BYTES = b"one\r\ntwo\rthree\nfour\n\nsix"  # text mode reads \r\n and \r as \n


def export_small():
    """The vocabulary and numbers of a tiny file at two min_freq, and a split of mixed line ends."""
    cases = []
    with tempfile.TemporaryDirectory() as path:
        os.makedirs(os.path.join(path, "trn"))
        with open(os.path.join(path, "trn", "trn.txt"), "w", encoding="utf-8") as f:
            f.write(SMALL_TEXT)
        for min_freq in (1, 3):
            TEXT = S.Field(lower=True, tokenize=list)
            ds = S.ConcatTextDataset(os.path.join(path, "trn"), TEXT)
            TEXT.build_vocab(ds, min_freq=min_freq)
            cases.append({"text": SMALL_TEXT, "min_freq": min_freq, "itos": TEXT.vocab.itos,
                          "nums": TEXT.numericalize(ds.text).tolist(),
                          "decoded": TEXT.vocab.decode(TEXT.numericalize(ds.text))})
        with open(os.path.join(path, "split.txt"), "wb") as f:
            f.write(SPLIT_BYTES)
        with open(os.path.join(path, "split.txt"), encoding="utf-8") as f:
            trn, val = S.split_lines(f.read(), 2)
    return {"vocab": cases, "split": {"bytes": SPLIT_BYTES.decode(), "trn_lines": 2, "trn": trn, "val": val}}


def draws(seed, n=3000, reseed_at=1500):
    """random(), normal(k % 5 - 2, 1 + k % 4) for k < n; re-seeded after k == reseed_at, when
    an odd number of normal() calls has left a Gaussian in the cache."""
    np.random.seed(seed)
    out = []
    for k in range(n):
        out.append(np.random.random())
        out.append(np.random.normal(k % 5 - 2.0, 1.0 + k % 4))
        if k == reseed_at:
            np.random.seed(seed)
    return torch.tensor(out, dtype=torch.float64)


def export_lower(out_dir):
    code_points, lower = [], []
    for c in range(0x110000):
        low = chr(c).lower()
        if low != chr(c):
            code_points.append(c)
            lower.append([ord(low[0]), ord(low[1]) if len(low) > 1 else -1])
            if len(low) > 2:
                raise SystemExit(f"U+{c:04X} lowers to {len(low)} characters; lower.pt holds two")
    torch.save({"code_points": torch.tensor(code_points, dtype=torch.int64),
                "lower": torch.tensor(lower, dtype=torch.int64)}, os.path.join(out_dir, "lower.pt"))


def export(out_dir, text_path):
    summary = export_batches(text_path, out_dir)
    torch.save({f"seed{s}": draws(s) for s in DRAW_SEEDS}, os.path.join(out_dir, "numpy_random.pt"))
    export_lower(out_dir)
    summary["draw_seeds"] = DRAW_SEEDS
    summary["small"] = export_small()
    with open(os.path.join(out_dir, "lm_reference.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1, ensure_ascii=False)
    print(f"wrote the LanguageModelData reference to {out_dir}")
