"""Training trajectories of the Python reference, for the C++ trajectory-parity test.

For each lesson model: seed the initial weights, save them, train with the lesson's first
learning rate on the first --chars characters of the corpus for at least --steps batches,
and write every batch's raw loss and the epoch rows. The C++ test loads the same initial
weights, uses the same shuffle seed (both sides draw torch.randperm from a generator seeded
the same way) and must reproduce the losses.

Written by export.py (part "trajectory"): <run>/init.pt and <run>/trajectory.json per run, and
runs.json listing the runs with their model.
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lesson6 as L  # noqa: E402

# name, registry model, identity init, learning rate (the notebook's first fit call)
RUNS = [
    ("char3-model", "char3-model", False, 1e-2),
    ("char-loop-model", "char-loop-model", False, 1e-2),
    ("char-loop-concat-model", "char-loop-concat-model", False, 1e-3),
    ("char-rnn", "char-rnn", False, 1e-3),
    ("char-seq-rnn", "char-seq-rnn", False, 1e-3),
    ("char-seq-rnn-identity", "char-seq-rnn", True, 1e-2),
]
CHARS = 40000  # the first CHARS characters of the corpus
STEPS = 60     # at least this many batches per run
SEED = 0


def trajectory(model_name, identity, lr, idx, vocab_size, min_steps, seed):
    md = L.lesson_data(model_name, idx, seed=seed)
    epochs = -(-min_steps // len(md.trn_dl))  # enough epochs for min_steps batches
    torch.manual_seed(seed)
    m = L.make_model(model_name, vocab_size, identity=identity)
    init = {k: v.clone() for k, v in m.state_dict().items()}
    opt = L.Adam(m.parameters(), lr)
    losses = []
    rows = L.fit(m, md, epochs, opt, L.criterion(model_name), on_batch=losses.append)
    return init, {"model": model_name, "identity_init": identity, "lr": lr, "epochs": epochs,
                  "seed": seed, "losses": losses, "rows": [[float(v) for v in r] for r in rows]}


def export(out_dir, text_path):
    torch.set_num_threads(1)  # the reference numbers must not depend on thread scheduling
    text = L.load_text(text_path)[:CHARS]
    chars, char_indices, _ = L.make_vocab(text)
    idx = L.encode(text, char_indices)
    runs = [{"case": name, "model": model_name, "identity_init": identity} for name, model_name, identity, _ in RUNS]
    with open(os.path.join(out_dir, "runs.json"), "w") as f:
        json.dump({"cases": runs}, f, indent=1)
    for name, model_name, identity, lr in RUNS:
        init, record = trajectory(model_name, identity, lr, idx, len(chars), STEPS, SEED)
        out = os.path.join(out_dir, name)
        os.makedirs(out, exist_ok=True)
        torch.save(init, os.path.join(out, "init.pt"))
        record["chars"] = CHARS
        with open(os.path.join(out, "trajectory.json"), "w") as f:
            json.dump(record, f)
