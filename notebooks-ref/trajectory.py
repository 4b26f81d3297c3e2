"""Training trajectories of the Python reference, for the C++ trajectory-parity test.

For each lesson model: seed the initial weights, save them, train with the lesson's first
learning rate on the first --chars characters of the corpus for at least --steps batches,
and write every batch's raw loss and the epoch rows. The C++ test loads the same initial
weights, uses the same shuffle seed (both sides draw torch.randperm from a generator seeded
the same way) and must reproduce the losses.
"""
import argparse
import json
import os

import torch

import lesson6 as L

# name, registry model, identity init, learning rate (the notebook's first fit call)
RUNS = [
    ("char3-model", "char3-model", False, 1e-2),
    ("char-loop-model", "char-loop-model", False, 1e-2),
    ("char-loop-concat-model", "char-loop-concat-model", False, 1e-3),
    ("char-rnn", "char-rnn", False, 1e-3),
    ("char-seq-rnn", "char-seq-rnn", False, 1e-3),
    ("char-seq-rnn-identity", "char-seq-rnn", True, 1e-2),
]


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


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--text", help="the corpus (default: $CHARNN_TEXT, then data/nietzsche.txt)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--chars", type=int, default=40000)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    torch.set_num_threads(1)  # the reference numbers must not depend on thread scheduling
    text = L.load_text(L.corpus_path(args.text))[:args.chars]
    chars, char_indices, _ = L.make_vocab(text)
    idx = L.encode(text, char_indices)
    for name, model_name, identity, lr in RUNS:
        init, record = trajectory(model_name, identity, lr, idx, len(chars), args.steps, args.seed)
        out = os.path.join(args.out, name)
        os.makedirs(out, exist_ok=True)
        torch.save(init, os.path.join(out, "init.pt"))
        record["chars"] = args.chars
        with open(os.path.join(out, "trajectory.json"), "w") as f:
            json.dump(record, f)


if __name__ == "__main__":
    main()
