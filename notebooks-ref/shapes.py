"""`charnn shapes` in Python: one forward of a lesson model on a batch of the lesson's data, each
line of the notebook's forward (lesson6.py) with the shapes of the tensors it made.

The walk follows the forward line by line (sys.settrace): after each line, the names it binds
(an assignment's targets, a loop's variable) or the value it returns; a line shows the tensors
among them that did not exist before it ran (`o = self.h` makes none). Lines that bind nothing
(`outp.append(o)`, an `if`), and ints (`bs`), show nothing, as in the C++ walk
(train/teach/shape_walk.h), which measures the same lines from the operators LibTorch runs.

    python3 shapes.py char-rnn [--bs 1] [--json] [--text PATH] [--max-chars N] [--seed N]
    python3 shapes.py --all --out DIR     every model at the lesson's bs and at bs 1, as JSON
"""
import argparse
import ast
import functools
import inspect
import json
import os
import sys
import tempfile
import textwrap

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lesson6 as L  # noqa: E402
import lesson6_stateful as S  # noqa: E402

# The stateful models as the notebook constructs them: CharSeqStatefulRnn(md.nt, n_fac, 512), ...;
# the LSTM with 2 layers and n_hidden 512.
STATEFUL = {
    "char-seq-stateful-rnn": lambda nt: L.CharSeqStatefulRnn(nt, 42, 512),
    "char-seq-stateful-rnn2": lambda nt: L.CharSeqStatefulRnn2(nt, 42, 512),
    "char-seq-stateful-gru": lambda nt: L.CharSeqStatefulGRU(nt, 42, 512),
    "char-seq-stateful-lstm": lambda nt: L.CharSeqStatefulLSTM(nt, 42, 512, 2, 512),
}
MODELS = sorted(L.MODELS) + sorted(STATEFUL)
LESSON_BS = {name: 64 if name in STATEFUL else 512 for name in MODELS}


def read_text(path, max_chars=0):
    """The first max_chars characters (all for 0), as charnn's --max-chars cuts them."""
    text = L.load_text(L.corpus_path(path))
    return text[:max_chars] if max_chars > 0 else text


def training_lines(text):
    """The stateful models' training part: the lesson's 7998 lines, or 80% of a shorter text's."""
    lines = len(text.splitlines(keepends=True))
    return S.TRN_LINES if lines > S.TRN_LINES else max(1, lines * 4 // 5)


def language_model_data(text, bs, bptt=8, trn_lines=0):
    """LanguageModelData.from_text_files on the text's trn/ and val/ parts, as a run cuts them."""
    with tempfile.TemporaryDirectory() as path:
        S.write_text_files(path, text, trn_lines or training_lines(text))
        field = S.Field(lower=True, tokenize=list)
        md = S.LanguageModelData.from_text_files(path, field, train="trn/", validation="val/", bs=bs, bptt=bptt,
                                                 min_freq=3)
    return field, md


def first_training_batch(name, text, bs, seed=0):
    """(xs, y, itos): the first batch a run with this seed trains on, and the vocabulary."""
    if name in STATEFUL:
        field, md = language_model_data(text, bs)
        np.random.seed(seed)  # the run seeds numpy's stream before its first batch
        x, y = next(iter(md.trn_dl))
        return x, y, field.vocab.itos
    chars, md = windowed_data(L.MODELS[name][1], text, bs, seed)
    xs, y = next(iter(md.trn_dl))
    return xs, y, chars


@functools.lru_cache(maxsize=None)
def windowed_data(layout, text, bs, seed):
    """The notebook's data cell for a layout (the models that share one share it: --all reads
    the whole corpus into Python lists once per layout and batch size, not once per model)."""
    chars, char_indices, _ = L.make_vocab(text)
    name = next(n for n, (_, lay, _) in L.MODELS.items() if lay == layout)
    return chars, L.lesson_data(name, L.encode(text, char_indices), bs, seed)


def make_model(name, vocab_size):
    return STATEFUL[name](vocab_size) if name in STATEFUL else L.make_model(name, vocab_size)


# ---- The walk


def flatten(value):
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in flatten(v)]
    return []


def reachable(frame):
    """Every tensor the frame can see before a line runs: its locals and self's attributes."""
    values = list(frame.f_locals.values())
    owner = frame.f_locals.get("self")
    if owner is not None:
        values += list(vars(owner).values())
    return [t for v in values for t in flatten(v)]


def target_values(target, frame):
    if isinstance(target, ast.Name):
        return flatten(frame.f_locals.get(target.id))
    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
        return flatten(getattr(frame.f_locals.get(target.value.id), target.attr, None))
    if isinstance(target, (ast.Tuple, ast.List)):
        return [t for e in target.elts for t in target_values(e, frame)]
    return []


def binding_statements(tree, first_line):
    """{file line: the targets it binds, or 'return'}, for every statement of the function."""
    out = {}
    for node in ast.walk(tree):
        line = first_line + getattr(node, "lineno", 0) - 1
        if isinstance(node, ast.Assign):
            out[line] = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For)):
            out[line] = [node.target]
        elif isinstance(node, ast.Return):
            out[line] = "return"
    return out


def walk(model, xs):
    """The forward's lines and, for each, the shapes of the tensors it made each time it ran."""
    fn = type(model).forward
    source, first_line = inspect.getsourcelines(fn)
    binds = binding_statements(ast.parse(textwrap.dedent("".join(source))), first_line)
    values = {first_line + i: [] for i in range(len(source))}
    pending = {}

    def finish(frame, returned=None):
        line, before = pending.pop("line", None), pending.pop("before", [])
        targets = binds.get(line)
        if targets is None:
            return
        made = flatten(returned) if targets == "return" else [t for tg in targets for t in target_values(tg, frame)]
        old = {id(t) for t in before}
        new = [t for t in made if id(t) not in old]
        if new:
            values[line].append([list(t.shape) for t in new])

    def local(frame, event, arg):
        if event in ("line", "return"):
            finish(frame, arg if event == "return" else None)
        if event == "line":
            pending["line"], pending["before"] = frame.f_lineno, reachable(frame)
        return local

    def calls(frame, event, arg):
        return local if frame.f_code is fn.__code__ else None

    model.eval()
    sys.settrace(calls)
    try:
        with torch.no_grad():
            L.call_model(model, xs)  # model(*xs) for Char3Model, model(xs) for the others
    finally:
        sys.settrace(None)
    dedented = textwrap.dedent("".join(source)).splitlines()
    return [{"number": first_line + i, "text": text.rstrip(), "values": values[first_line + i]}
            for i, text in enumerate(dedented)]


def lesson_walk(name, text, bs=0, seed=0):
    bs = bs or LESSON_BS[name]
    xs, _, vocab = first_training_batch(name, text, bs, seed)
    if xs.size(1) < bs:
        raise SystemExit(f"the text is too short for one batch of {bs} for {name}")
    torch.manual_seed(seed)
    model = make_model(name, len(vocab))
    cls = type(model).__name__
    return {"model": name, "notebook_class": cls, "source": "notebooks-ref/lesson6.py", "input": list(xs.shape),
            "lines": walk(model, xs)}


def shape_text(shape):
    return "x".join(str(d) for d in shape) if shape else "scalar"


def values_text(values):
    one = [", ".join(shape_text(s) for s in v) for v in values]
    if not one:
        return ""
    if all(o == one[0] for o in one):
        return one[0] if len(one) == 1 else f"{one[0]} (x{len(one)})"
    return " | ".join(one)


def walk_text(w):
    # The shapes line up after the longest line that has some.
    width = max([0] + [len(line["text"]) for line in w["lines"] if line["values"]])
    out = [f"{w['model']} ({w['notebook_class']}, {w['source']}), one forward of xs {shape_text(w['input'])}"]
    for line in w["lines"]:
        shapes = values_text(line["values"])
        out.append((f"  {line['text']:<{width}}  {shapes}" if shapes else f"  {line['text']}").rstrip())
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", nargs="?", choices=MODELS)
    ap.add_argument("--bs", type=int, default=0, help="0: the lesson's (512, or 64 for the stateful models)")
    ap.add_argument("--text", help="the corpus (default: $CHARNN_TEXT, then data/nietzsche.txt)")
    ap.add_argument("--max-chars", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--all", action="store_true", help="every model at the lesson's bs and at bs 1, into --out")
    ap.add_argument("--out", help="with --all: the directory for <model>-bs<N>.json")
    args = ap.parse_args()
    torch.set_num_threads(1)
    text = read_text(args.text, args.max_chars)
    if args.all:
        os.makedirs(args.out, exist_ok=True)
        for name in MODELS:
            for bs in (LESSON_BS[name], 1):
                with open(os.path.join(args.out, f"{name}-bs{bs}.json"), "w") as f:
                    json.dump(lesson_walk(name, text, bs, args.seed), f, indent=1)
        return
    if not args.model:
        ap.error("name a model, or --all")
    w = lesson_walk(args.model, text, args.bs, args.seed)
    sys.stdout.write(json.dumps(w, indent=1) + "\n" if args.json else walk_text(w))


if __name__ == "__main__":
    main()
