"""Writes the Python reference for the stateful models' get_next_n (the llm.c pattern).

For each of CharSeqStatefulRnn, CharSeqStatefulRnn2, CharSeqStatefulGRU and CharSeqStatefulLSTM
(lesson6.py) it fixes torch's seed, builds the model at small sizes, scales every weight by
WEIGHT_SCALE (at PyTorch's init scale every window's argmax is the same character, and a greedy
text would not show whether the state carries), and saves

  <case>.state_dict.pt   the weights (torch.save(model.state_dict()))

then runs lesson6_stateful.get_next_n from PROMPT for each entry of RUNS (greedy; the notebook's
multinomial at temperature 1; temperature 0.7), each from a fresh bs-1 state and a
torch.Generator seeded with the run's seed. generate.json lists the cases, the vocabulary
(the notebook's 56-entry itos) and the texts.

Written by export.py (part "generate").
"""
import json
import os
import sys
from collections import Counter

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lesson6 as L  # noqa: E402
import lesson6_stateful as S  # noqa: E402

# The notebook's TEXT.vocab.itos (docs/lesson-semantics.md §9.2), by frequency.
ITOS = (["<unk>", "<pad>"] + list(" etiaonsrhldcufm") + ["\n"]
        + list("pg,ywbv-.\"kx;:qj!?()'z12=_3[]5486790ä"))
N_FAC, N_HIDDEN, NL = 42, 64, 2
SEED = 20180103
WEIGHT_SCALE = 3.0
PROMPT = "For thos"  # upper case on purpose: the window is lower-cased as the Field lowers text
N = 300
RUNS = [{"temperature": None, "seed": 0}, {"temperature": 1.0, "seed": 7}, {"temperature": 0.7, "seed": 11}]
CASES = [
    ("char-seq-stateful-rnn", "CharSeqStatefulRnn", {}),
    ("char-seq-stateful-rnn2", "CharSeqStatefulRnn2", {}),
    ("char-seq-stateful-gru", "CharSeqStatefulGRU", {}),
    ("char-seq-stateful-lstm", "CharSeqStatefulLSTM", {"nl": NL, "dropout": 0.5}),
]


def notebook_field():
    TEXT = S.Field(lower=True, tokenize=list)
    TEXT.vocab = S.Vocab(Counter({tok: len(ITOS) - i for i, tok in enumerate(ITOS[2:])}), min_freq=1)
    assert TEXT.vocab.itos == ITOS
    return TEXT


def export_case(case, cls_name, kwargs, TEXT, out_dir):
    torch.manual_seed(SEED)
    m = getattr(L, cls_name)(len(ITOS), N_FAC, 64, n_hidden=N_HIDDEN, **kwargs)
    with torch.no_grad():
        for p in m.parameters():
            p.mul_(WEIGHT_SCALE)
    state_dict = f"{case}.state_dict.pt"
    torch.save(m.state_dict(), os.path.join(out_dir, state_dict))
    texts = [dict(run, text=S.get_next_n(m, TEXT, PROMPT, N, run["temperature"], run["seed"])) for run in RUNS]
    return {"case": case, "class": cls_name, "n_fac": N_FAC, "n_hidden": N_HIDDEN, **kwargs,
            "state_dict": state_dict, "texts": texts}


def export(out_dir):
    torch.set_num_threads(1)  # one thread: the reduction order cannot depend on the machine
    TEXT = notebook_field()
    cases = [export_case(*c, TEXT, out_dir) for c in CASES]
    summary = {"torch_version": torch.__version__, "itos": ITOS, "prompt": PROMPT, "n": N, "cases": cases}
    with open(os.path.join(out_dir, "generate.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1, ensure_ascii=False)
    print(f"wrote {len(cases)} generation reference cases to {out_dir}")
