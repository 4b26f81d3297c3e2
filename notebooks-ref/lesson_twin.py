"""The Python twin of a `charnn lesson` run: every section of the run's directory trained again by
the notebook's cells in Python (lesson6.py, lesson6_stateful.py), with the settings its
config.json holds (model, sizes, schedule, bs, seed, text and --max-chars, weight decay), for the
lesson page to show beside charnn's numbers (docs/make_page.py).

The twin starts from its own initial weights (torch.manual_seed(seed), as the run seeds LibTorch's)
and takes the plain step, one batch on one thread, where `charnn lesson` cuts a batch across the
cores and trains through the fused layers: the rows agree to a few digits, not bit for bit (the
trajectory tests compare the steps themselves).

    python3 lesson_twin.py --lesson runs/lesson-quick --out runs/lesson-quick-twin

Writes OUT/<section>/twin.json: the epoch rows [fit, epoch, trn_loss, val_loss], every training
batch's raw loss and rate, where each epoch ended (in batches), len(trn_dl), and the notebook's
test cell's text (get_next_n('for thos', ...)) from the trained model.
"""
import argparse
import contextlib
import io
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lesson6 as L  # noqa: E402
import lesson6_stateful as S  # noqa: E402
import shapes  # noqa: E402

PROMPT = "for thos"  # the notebook's test cells' prompt
STATEFUL_CLASSES = {"char-seq-stateful-rnn": L.CharSeqStatefulRnn, "char-seq-stateful-rnn2": L.CharSeqStatefulRnn2,
                    "char-seq-stateful-gru": L.CharSeqStatefulGRU, "char-seq-stateful-lstm": L.CharSeqStatefulLSTM}


class CountingLoader:
    """The training loader, counting each epoch's batches: the stateful loader's epochs end
    early, and the page places every batch on an axis of epochs."""

    def __init__(self, dl, epoch_ends):
        self.dl, self.epoch_ends = dl, epoch_ends

    def __len__(self):
        return len(self.dl)

    def __iter__(self):
        n = 0
        for batch in self.dl:
            n += 1
            yield batch
        self.epoch_ends.append((self.epoch_ends[-1] if self.epoch_ends else 0) + n)


def windowed_setup(cfg, text):
    chars, char_indices, _ = L.make_vocab(text)
    md = L.lesson_data(cfg["model"], L.encode(text, char_indices), cfg["bs"], cfg["seed"])
    torch.manual_seed(cfg["seed"])
    m = L.make_model(cfg["model"], len(chars), cfg["n_fac"], cfg["n_hidden"], cfg["identity_init"])
    crit = L.criterion(cfg["model"])

    def fit(epochs, opt, callbacks, on_batch):
        with contextlib.redirect_stdout(io.StringIO()):  # lesson6.fit prints its rows
            return L.fit(m, md, epochs, opt, crit, on_batch=on_batch)

    def sample():
        """The notebook's test cell: get_next_n('for thos', 40), the most likely character each time."""
        window = 3 if cfg["model"] == "char3-model" else 8
        return L.get_next_n(m, PROMPT, 40, window, chars, char_indices)
    return m, md, fit, sample


def stateful_setup(cfg, text):
    field, md = shapes.language_model_data(text, cfg["bs"], cfg["window"] or 8, cfg["trn_lines"])
    np.random.seed(cfg["seed"])  # the run's numpy stream, before its first batch
    torch.manual_seed(cfg["seed"])
    cls = STATEFUL_CLASSES[cfg["model"]]
    if cls is L.CharSeqStatefulLSTM:
        m = cls(md.nt, cfg["n_fac"], cfg["model_bs"], cfg["nl"], cfg["n_hidden"], cfg["dropout"])
    else:
        m = cls(md.nt, cfg["n_fac"], cfg["model_bs"], cfg["n_hidden"])

    def fit(epochs, opt, callbacks, on_batch):
        return S.fit(m, md, epochs, opt, callbacks=callbacks, on_batch=on_batch)

    def sample():
        """The notebook's test cell: get_next_n('for thos', 400), drawn at temperature 1, seed 0."""
        return S.get_next_n(m, field, PROMPT, 400, temperature=1.0, seed=0)
    return m, md, fit, sample


def train_section(cfg):
    """The section's fit calls, as its cells run them: Adam (LayerOptimizer's weight decay), then
    set_lrs or a CosAnneal before each call."""
    text = shapes.read_text(cfg["text"], cfg["max_chars"])
    m, md, fit, sample = (stateful_setup if cfg["model"] in STATEFUL_CLASSES else windowed_setup)(cfg, text)
    epoch_ends = []
    md.trn_dl = CountingLoader(md.trn_dl, epoch_ends)
    first = cfg["schedule"][0]["lr"]
    opt = L.Adam(m.parameters(), first if first != "prev" else 1e-3, weight_decay=cfg["wd"])
    rows, losses, lrs = [], [], []
    prev = first

    def on_batch(loss):
        losses.append(loss)
        lrs.append(opt.param_groups[0]["lr"])

    for i, call in enumerate(cfg["schedule"]):
        lr = prev if call["lr"] == "prev" else call["lr"]
        callbacks = []
        if call["kind"] == "cos_anneal":
            sched = S.CosAnneal(opt, lr, len(md.trn_dl), cycle_mult=call.get("cycle_mult", 1))
            callbacks = [sched]
        else:
            L.set_lrs(opt, lr)
        for epoch, trn, val in fit(call["epochs"], opt, callbacks, on_batch):
            rows.append([i, int(epoch), float(trn), float(val)])
        prev = float(callbacks[0].lrs) if callbacks else lr
    return {"model": cfg["model"], "rows": rows, "losses": losses, "lrs": lrs, "epoch_ends": epoch_ends,
            "trn_batches": len(md.trn_dl), "vocab_size": m.l_out.out_features, "sample": sample()}


def sections(lesson_dir):
    for name in sorted(os.listdir(lesson_dir)):
        path = os.path.join(lesson_dir, name, "config.json")
        if os.path.isfile(path):
            with open(path) as f:
                yield name, json.load(f)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lesson", required=True, help="a `charnn lesson --out` directory")
    ap.add_argument("--out", required=True)
    ap.add_argument("--only", nargs="*", help="these sections only")
    args = ap.parse_args()
    torch.set_num_threads(1)
    found = False
    for name, cfg in sections(args.lesson):
        if args.only and name not in args.only:
            continue
        found = True
        start = time.monotonic()
        record = train_section(cfg)
        record["seconds"] = time.monotonic() - start
        os.makedirs(os.path.join(args.out, name), exist_ok=True)
        with open(os.path.join(args.out, name, "twin.json"), "w") as f:
            json.dump(record, f)
        print(f"{name}: {len(record['losses'])} batches, last row {record['rows'][-1]} ({record['seconds']:.1f} s)")
    if not found:
        sys.exit(f"{args.lesson}: no section's config.json; make the run with: "
                 f"charnn lesson --quick --out {args.lesson}")


if __name__ == "__main__":
    main()
