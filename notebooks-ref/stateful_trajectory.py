"""Training trajectories of the stateful models, for the C++ trajectory-parity test.

For each of the four stateful models: the language-model data of the first --chars
characters of the corpus (its first 80% of lines for training, the rest for validation),
torch.manual_seed(--seed) for the initial weights (saved as init.pt), then the notebook's
"Putting it all together" pattern at a small scale: Adam (LayerOptimizer's single group, with
weight decay where the notebook has it; lesson6.Adam, Adam in LibTorch's arithmetic), np.random.seed(--seed) and torch.manual_seed(
DROPOUT_SEED) just before the first fit call, one epoch at a constant rate, then two epochs
of CosAnneal(lo, len(trn_dl), cycle_mult=2) started from the rate left by the first call.
Every batch's raw loss and rate, the epoch rows, the cycle ends and the final weights are
written; the C++ test (tests/test_lm_trajectory.cpp) replays the same and compares.

Written by export.py (part "stateful_trajectory"): <model>/init.pt, final.pt and
trajectory.json per run, and runs.json listing the runs.
"""
import json
import os
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lesson6 as L  # noqa: E402
import lesson6_stateful as S  # noqa: E402

DROPOUT_SEED = 6
# name, class, constructor arguments after bs, learning rate, weight decay (the notebook's)
RUNS = [
    ("char-seq-stateful-rnn", "CharSeqStatefulRnn", {"n_hidden": 256}, 1e-3, 0.0),
    ("char-seq-stateful-rnn2", "CharSeqStatefulRnn2", {"n_hidden": 256}, 1e-3, 0.0),
    ("char-seq-stateful-gru", "CharSeqStatefulGRU", {"n_hidden": 256}, 1e-3, 0.0),
    ("char-seq-stateful-lstm", "CharSeqStatefulLSTM", {"nl": 2, "n_hidden": 512, "dropout": 0.5}, 1e-2, 1e-5),
]
CONSTANT_EPOCHS, COS_EPOCHS, CYCLE_MULT = 1, 2, 2
CHARS = 24000  # the first CHARS characters of the corpus
SEED = 0


def trajectory(path, name, cls_name, kwargs, lr, wd, seed):
    TEXT = S.Field(lower=True, tokenize=list)
    md = S.LanguageModelData.from_text_files(path, TEXT, train="trn/", validation="val/", bs=64, bptt=8,
                                             min_freq=3)
    torch.manual_seed(seed)
    m = getattr(L, cls_name)(md.nt, 42, 512, **kwargs)
    init = {k: v.clone() for k, v in m.state_dict().items()}
    opt = L.Adam(m.parameters(), lr, weight_decay=wd)
    losses, rates, cycles = [], [], []

    def on_batch(loss):
        losses.append(loss)
        rates.append(opt.param_groups[0]["lr"])

    np.random.seed(seed)
    torch.manual_seed(DROPOUT_SEED)
    rows = S.fit(m, md, CONSTANT_EPOCHS, opt, on_batch=on_batch)
    sched = S.CosAnneal(opt, lr, len(md.trn_dl), cycle_mult=CYCLE_MULT,
                        on_cycle_end=lambda s, c: cycles.append([len(losses), c]))
    rows += S.fit(m, md, COS_EPOCHS, opt, callbacks=[sched], on_batch=on_batch)
    final = {k: v.clone() for k, v in m.state_dict().items()}
    _, key, pos, has_gauss, gauss = np.random.get_state()
    record = {"model": name, "nt": md.nt, "len_trn_dl": len(md.trn_dl), "lr": lr, "weight_decay": wd,
              "seed": seed, "dropout_seed": DROPOUT_SEED, "constant_epochs": CONSTANT_EPOCHS,
              "cos_epochs": COS_EPOCHS, "cycle_mult": CYCLE_MULT, "losses": losses, "rates": rates,
              "cycle_ends": cycles, "last_lr": float(sched.lrs),
              "rows": [[float(v) for v in r] for r in rows],
              "numpy_state": {"key": [int(k) for k in key], "pos": int(pos), "has_gauss": bool(has_gauss),
                              "gauss": float(gauss)}}
    return init, final, record


def export(out_dir, text_path):
    torch.set_num_threads(1)  # the reference numbers must not depend on thread scheduling
    with open(text_path, encoding="utf-8") as f:
        text = f.read()[:CHARS]
    trn_lines = len(text.splitlines(keepends=True)) * 4 // 5
    with open(os.path.join(out_dir, "runs.json"), "w") as f:
        json.dump({"cases": [{"case": name, "model": name} for name, *_ in RUNS]}, f, indent=1)
    with tempfile.TemporaryDirectory() as path:
        S.write_text_files(path, text, trn_lines)
        for name, cls_name, kwargs, lr, wd in RUNS:
            init, final, record = trajectory(path, name, cls_name, kwargs, lr, wd, SEED)
            record.update({"chars": CHARS, "trn_lines": trn_lines})
            out = os.path.join(out_dir, name)
            os.makedirs(out, exist_ok=True)
            torch.save(init, os.path.join(out, "init.pt"))
            torch.save(final, os.path.join(out, "final.pt"))
            with open(os.path.join(out, "trajectory.json"), "w") as f:
                json.dump(record, f)
            print(f"{name}: {len(record['losses'])} steps, rows {record['rows']}")
