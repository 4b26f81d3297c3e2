"""Writes the Python reference for the four stateful models (the llm.c pattern).

For each of CharSeqStatefulRnn, CharSeqStatefulRnn2, CharSeqStatefulGRU and CharSeqStatefulLSTM
(lesson6.py) it fixes torch's seed, builds the model at small sizes and saves:

  <case>.state_dict.pt  the initial weights (torch.save(model.state_dict()))
  <case>.step<k>.pt     training batch k, in train mode, the state carried from batch k-1:
                        {"xs": [sl, bs], "y": [sl*bs], "out", "loss" (F.nll_loss),
                         "grad.<name>", "updated.<name>" (after one Adam step),
                         "state.<i>" (the state after the batch, as StatefulModel::state())}
                        The batches have different lengths; the last one also has a
                        different batch size, so forward starts it from init_hidden.
  <case>.eval<k>.pt     then in eval mode, without gradients, two (8, 1) windows one
                        character apart, as the notebook's get_next_n feeds them:
                        {"xs", "out", "state.<i>"}

The LSTM trains with the notebook's LayerOptimizer(optim.Adam, m, 1e-2, 1e-5), i.e. Adam with
coupled L2 weight decay (stepped by lesson6.Adam, Adam in LibTorch's arithmetic, so that PyTorch
2's rounding of the first moment does not enter the later steps), with its inter-layer dropout active: torch's global
generator is reseeded with DROPOUT_SEED just before the first batch, and the C++ test reseeds
LibTorch's the same way, so both draw the same dropout masks.

stateful.json lists the cases, and the shapes the notebook's sizes give (vocab 56, bs 64,
bptt 8, and the (8, 1) window of get_next).

Written by export.py (part "stateful").
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lesson6 as L  # noqa: E402

VOCAB_SIZE, N_FAC, N_HIDDEN, BS = 56, 42, 64, 8  # small, so every file stays well under 1 MiB
NL = 2
SEED = 20180102
DROPOUT_SEED = 6
MAX_FILE_BYTES = 1 << 20
STEPS = [(5, BS), (9, BS), (7, BS), (6, 4)]  # (sl, bs) of each training batch
EVAL_WINDOW = 8
EVAL_CALLS = 2

# (case, class name, extra constructor arguments after bs, Adam's lr and weight decay)
CASES = [
    ("char-seq-stateful-rnn", "CharSeqStatefulRnn", {"n_hidden": N_HIDDEN}, 1e-3, 0.0),
    ("char-seq-stateful-rnn2", "CharSeqStatefulRnn2", {"n_hidden": N_HIDDEN}, 1e-3, 0.0),
    ("char-seq-stateful-gru", "CharSeqStatefulGRU", {"n_hidden": N_HIDDEN}, 1e-3, 0.0),
    ("char-seq-stateful-lstm", "CharSeqStatefulLSTM", {"nl": NL, "n_hidden": N_HIDDEN, "dropout": 0.5}, 1e-2, 1e-5),
]


def save(obj, out_dir, filename):
    path = os.path.join(out_dir, filename)
    torch.save(obj, path)
    size = os.path.getsize(path)
    if size >= MAX_FILE_BYTES:
        raise SystemExit(f"{path}: {size} bytes, over the 1 MiB the reference files must stay under")
    return filename


def states(m):
    return {f"state.{i}": t.clone() for i, t in enumerate(L.stateful_state(m))}


def export_case(case, cls_name, kwargs, lr, wd, out_dir):
    torch.manual_seed(SEED)
    m = getattr(L, cls_name)(VOCAB_SIZE, N_FAC, BS, **kwargs)
    files = {"state_dict": save(m.state_dict(), out_dir, f"{case}.state_dict.pt"), "steps": [], "eval": []}
    gen = torch.Generator().manual_seed(SEED)  # the batches; torch's global stream is dropout's alone
    opt = L.Adam(m.parameters(), lr, weight_decay=wd)

    torch.manual_seed(DROPOUT_SEED)
    m.train()
    for k, (sl, bs) in enumerate(STEPS):
        xs = torch.randint(0, VOCAB_SIZE, (sl, bs), generator=gen)
        y = torch.randint(0, VOCAB_SIZE, (sl * bs,), generator=gen)
        out = m(xs)  # fastai's Stepper.step: forward, zero_grad, loss, backward, step
        opt.zero_grad()
        loss = F.nll_loss(out, y)
        loss.backward()
        opt.step()
        record = {"xs": xs, "y": y, "out": out.detach(), "loss": loss.detach(), **states(m)}
        record.update({f"grad.{n}": p.grad.clone() for n, p in m.named_parameters()})
        record.update({f"updated.{n}": p.detach().clone() for n, p in m.named_parameters()})
        files["steps"].append({"sl": sl, "bs": bs, "file": save(record, out_dir, f"{case}.step{k}.pt")})

    m.eval()
    text = torch.randint(0, VOCAB_SIZE, (EVAL_WINDOW + EVAL_CALLS - 1,), generator=gen)
    with torch.no_grad():
        for k in range(EVAL_CALLS):
            xs = text[k:k + EVAL_WINDOW].view(EVAL_WINDOW, 1)
            record = {"xs": xs, "out": m(xs), **states(m)}
            files["eval"].append({"sl": EVAL_WINDOW, "bs": 1, "file": save(record, out_dir, f"{case}.eval{k}.pt")})

    return {"case": case, "class": cls_name, "vocab_size": VOCAB_SIZE, "n_fac": N_FAC, "bs": BS, **kwargs,
            "lr": lr, "weight_decay": wd, "parameters": [n for n, _ in m.named_parameters()],
            "buffers": [n for n, _ in m.named_buffers()], "files": files}


def notebook_shapes():
    """What the notebook's sizes give: built for bs 512 as the notebook does, then a (bptt, bs)
    batch, then get_next's (8, 1) window."""
    shapes = {"vocab_size": 56, "n_fac": 42, "bs": 64, "bptt": 8, "models": {}}
    gen = torch.Generator().manual_seed(SEED)
    with torch.no_grad():
        for _, cls_name, kwargs, _, _ in CASES:
            extra = {"nl": NL} if cls_name == "CharSeqStatefulLSTM" else {}
            m = getattr(L, cls_name)(56, 42, 512, **extra)
            m.eval()
            out = m(torch.randint(0, 56, (8, 64), generator=gen))
            state = [list(t.shape) for t in L.stateful_state(m)]
            window = m(torch.randint(0, 56, (8, 1), generator=gen))
            shapes["models"][cls_name] = {
                "n_hidden": m.n_hidden, "output": list(out.shape), "state": state,
                "window_output": list(window.shape), "window_state": [list(t.shape) for t in L.stateful_state(m)]}
    return shapes


def export(out_dir):
    torch.set_num_threads(1)  # one thread: the reduction order cannot depend on the machine
    cases = [export_case(*c, out_dir) for c in CASES]
    summary = {"torch_version": torch.__version__, "seed": SEED, "dropout_seed": DROPOUT_SEED,
               "cases": cases, "shapes": notebook_shapes()}
    with open(os.path.join(out_dir, "stateful.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print(f"wrote {len(cases)} stateful reference cases to {out_dir}")
