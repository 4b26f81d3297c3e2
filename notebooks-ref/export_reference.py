"""Writes the Python reference the C++ parity tests compare against (the llm.c pattern).

For every lesson model (and CharSeqRnn with identity init) it fixes torch's seed, builds
the model from lesson6.py, feeds one small batch, takes one Adam step and saves, per case:

  <case>.state_dict.pt  torch.save(model.state_dict()): the initial weights, saved the way
                        a Python user saves them (an OrderedDict)
  <case>.forward.pt     {"xs": [cs, B] int64, "y", "out": forward output, "loss"}
  <case>.grad.pt        {"grad.<name>": gradient of the loss}
  <case>.updated.pt     {"updated.<name>": the parameter after one Adam step}

The parameters are split over three files so that each stays under 1 MiB at the lesson's
sizes. reference.json lists the cases (learning rate, window, loss) and the shapes the
notebook shows for a batch of 512. loader.pt holds the batch order of lesson6.py's loader;
tiny.state_dict.pt is a state_dict of a few KiB for the damaged-file tests.

The batches are random indices: the corpus is not needed. Written by export.py (part
"models").
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lesson6 as L  # noqa: E402

VOCAB_SIZE, N_FAC, N_HIDDEN = 85, 42, 256
BS = 64          # the reference batch; small keeps every file well under 1 MiB
SHAPES_BS = 512  # the notebook's batch size, for the shapes it prints
SEED = 20180101
MAX_FILE_BYTES = 1 << 20

# (case, registry name, identity init, the notebook's learning rate for that model's first fit)
CASES = [
    ("char3-model", "char3-model", False, 1e-2),
    ("char-loop-model", "char-loop-model", False, 1e-2),
    ("char-loop-concat-model", "char-loop-concat-model", False, 1e-3),
    ("char-rnn", "char-rnn", False, 1e-3),
    ("char-seq-rnn", "char-seq-rnn", False, 1e-3),
    ("char-seq-rnn-identity", "char-seq-rnn", True, 1e-2),
]


def window(name):
    return 3 if L.MODELS[name][1] == "three-char" else 8


def random_batch(name, bs, gen):
    cs = window(name)
    xs = torch.randint(0, VOCAB_SIZE, (cs, bs), generator=gen)
    y_shape = (bs, cs) if L.MODELS[name][1] == "sequences" else (bs,)
    return xs, torch.randint(0, VOCAB_SIZE, y_shape, generator=gen)


def save(obj, out_dir, filename):
    path = os.path.join(out_dir, filename)
    torch.save(obj, path)
    size = os.path.getsize(path)
    if size >= MAX_FILE_BYTES:
        raise SystemExit(f"{path}: {size} bytes, over the 1 MiB the reference files must stay under")
    return filename


def export_case(case, name, identity, lr, batch, out_dir):
    torch.manual_seed(SEED)
    m = L.make_model(name, VOCAB_SIZE, N_FAC, N_HIDDEN, identity)
    xs, y = batch
    files = {"state_dict": save(m.state_dict(), out_dir, f"{case}.state_dict.pt")}

    opt = torch.optim.Adam(m.parameters(), lr)
    out = L.call_model(m, xs)
    opt.zero_grad()
    loss = L.criterion(name)(out, y)
    loss.backward()
    opt.step()

    named = list(m.named_parameters())
    files["forward"] = save({"xs": xs, "y": y, "out": out.detach(), "loss": loss.detach()},
                            out_dir, f"{case}.forward.pt")
    files["grad"] = save({f"grad.{k}": p.grad for k, p in named}, out_dir, f"{case}.grad.pt")
    files["updated"] = save({f"updated.{k}": p.detach() for k, p in named}, out_dir, f"{case}.updated.pt")
    return {"case": case, "model": name, "identity_init": identity, "lr": lr, "cs": window(name),
            "bs": BS, "loss": L.MODELS[name][2], "parameters": [k for k, _ in named], "files": files}


def notebook_shapes():
    """The shapes the notebook prints, from running the models on a batch of 512."""
    gen = torch.Generator().manual_seed(SEED)
    shapes = {"bs": SHAPES_BS, "models": {}}
    with torch.no_grad():
        for name in L.windowed_models():
            m = L.make_model(name, VOCAB_SIZE, N_FAC, N_HIDDEN)
            xs, _ = random_batch(name, SHAPES_BS, gen)
            shapes["models"][name] = {"input": list(xs.shape), "output": list(L.call_model(m, xs).shape)}
        # "inp = m.e(V(torch.stack(xs))); outp, hn = m.rnn(inp, h)" in the multi-output section
        m = L.make_model("char-seq-rnn", VOCAB_SIZE, N_FAC, N_HIDDEN)
        xs, _ = random_batch("char-seq-rnn", SHAPES_BS, gen)
        inp = m.e(xs)
        outp, hn = m.rnn(inp, torch.zeros(1, SHAPES_BS, N_HIDDEN))
    shapes["notebook"] = {"embedding": list(inp.shape), "rnn_output": list(outp.shape),
                          "rnn_hidden": list(hn.shape)}
    return shapes


def export_tiny(out_dir):
    """A Python-saved state_dict of a few KiB, small enough for the C++ tests to damage
    every byte of it in turn."""
    torch.manual_seed(SEED)
    sizes = {"vocab_size": 10, "n_fac": 4, "n_hidden": 8}
    m = L.make_model("char3-model", sizes["vocab_size"], sizes["n_fac"], sizes["n_hidden"])
    return {"model": "char3-model", **sizes, "state_dict": save(m.state_dict(), out_dir, "tiny.state_dict.pt")}


def export_loader(out_dir):
    """Two training epochs and one validation pass of from_arrays over rows labelled 0..N-1,
    so the labels spell the row order (the same data as the C++ loader test)."""
    n, bs, seed, val = 1300, 512, 7, [5, 17, 1299]
    xs = np.arange(n * 3, dtype=np.int64).reshape(n, 3)
    md = L.from_arrays(val, xs, np.arange(n, dtype=np.int64), bs, seed)
    epochs = [torch.cat([y for _, y in md.trn_dl]) for _ in range(2)]
    val_rows = torch.cat([y for _, y in md.val_dl])
    save({"trn.epoch0": epochs[0], "trn.epoch1": epochs[1], "val": val_rows}, out_dir, "loader.pt")
    return {"file": "loader.pt", "rows": n, "bs": bs, "seed": seed, "val_idxs": val}


def export(out_dir):
    torch.set_num_threads(1)  # one thread: the reduction order cannot depend on the machine
    gen = torch.Generator().manual_seed(SEED)
    cases = [export_case(case, name, identity, lr, random_batch(name, BS, gen), out_dir)
             for case, name, identity, lr in CASES]
    summary = {"torch_version": torch.__version__, "seed": SEED, "source": "random",
                "vocab_size": VOCAB_SIZE, "n_fac": N_FAC, "n_hidden": N_HIDDEN,
                "cases": cases, "shapes": notebook_shapes(), "loader": export_loader(out_dir),
                "tiny": export_tiny(out_dir)}
    with open(os.path.join(out_dir, "reference.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print(f"wrote {len(cases)} reference cases to {out_dir}")
