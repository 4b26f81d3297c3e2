"""`charnn batches` in Python: the first rows of a model's data as characters, x beside y.

The windowed models: the first rows of the notebook's xs and y (three_char_windows,
overlapping_windows, sequence_windows in lesson6.py), in the text's order, as the notebook shows
xs[:cs,:cs]. The stateful models: the first batch LanguageModelLoader gives after
np.random.seed(seed) (lesson6_stateful.py), column by column: each column read down is a stretch
of the text, y the same shifted by one.

    python3 batches.py char-seq-rnn [--rows 8] [--json] [--text PATH] [--max-chars N] [--seed N]
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lesson6 as L  # noqa: E402
import shapes  # noqa: E402

LAYOUTS = {"three-char": L.three_char_windows, "overlapping": L.overlapping_windows,
           "sequences": L.sequence_windows}


def windowed_rows(name, text, rows):
    layout = L.MODELS[name][1]
    chars, char_indices, _ = L.make_vocab(text)
    # Only the first rows are wanted: the windows of a prefix long enough for them are the same.
    idx = L.encode(text[:rows * 8 + 16], char_indices)
    xs, y = LAYOUTS[layout](idx)
    x_rows = [[chars[i] for i in row] for row in xs[:rows]]
    y_rows = [[chars[i] for i in (row if y.ndim == 2 else [row])] for row in y[:rows]]
    return layout, x_rows, y_rows


def language_model_rows(name, text, rows, seed, bs):
    x, y, itos = shapes.first_training_batch(name, text, bs or shapes.LESSON_BS[name], seed)
    y = y.view(x.size(0), x.size(1))
    n = min(rows, x.size(1))
    return ("language-model", [[itos[i] for i in x[:, c].tolist()] for c in range(n)],
            [[itos[i] for i in y[:, c].tolist()] for c in range(n)])


def first_rows(name, text, rows=8, seed=0, bs=0):
    if name in shapes.STATEFUL:
        layout, x, y = language_model_rows(name, text, rows, seed, bs)
    else:
        layout, x, y = windowed_rows(name, text, rows)
    return {"model": name, "layout": layout, "x": x, "y": y}


def visible(tokens):
    escapes = {"\n": "\\n", "\t": "\\t", "\0": "\\0", "\\": "\\\\"}
    return "".join(escapes.get(t, t) for t in tokens)


def rows_text(r):
    width = max([1] + [len(visible(x)) + 2 for x in r["x"]])
    out = [f"{r['model']} ({r['layout']})", f"  {'x':<{width}}  y"]
    out += [f"  {repr_row(x):<{width}}  {repr_row(y)}" for x, y in zip(r["x"], r["y"])]
    return "\n".join(out) + "\n"


def repr_row(tokens):
    return "'" + visible(tokens) + "'"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", nargs="?", choices=shapes.MODELS)
    ap.add_argument("--rows", type=int, default=8)
    ap.add_argument("--bs", type=int, default=0, help="the stateful models' batch size (0: the lesson's 64)")
    ap.add_argument("--text", help="the corpus (default: $CHARNN_TEXT, then data/nietzsche.txt)")
    ap.add_argument("--max-chars", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--all", action="store_true", help="every model's rows as JSON, into --out")
    ap.add_argument("--out", help="with --all: the directory for <model>-rows.json")
    args = ap.parse_args()
    if args.all:
        text = shapes.read_text(args.text, args.max_chars)
        os.makedirs(args.out, exist_ok=True)
        for name in shapes.MODELS:
            with open(os.path.join(args.out, f"{name}-rows.json"), "w") as f:
                json.dump(first_rows(name, text, args.rows, args.seed, args.bs), f)
        return
    if not args.model:
        ap.error("name a model, or --all")
    r = first_rows(args.model, shapes.read_text(args.text, args.max_chars), args.rows, args.seed, args.bs)
    sys.stdout.write(json.dumps(r) + "\n" if args.json else rows_text(r))


if __name__ == "__main__":
    main()
