"""Writes the lesson page: one self-contained HTML file that follows fastai's lesson-6 notebook step
by step, each step's Python (notebooks-ref/) beside the C++ that does the same, both read from the
sources as docs/make_side_by_side.py reads them, and under them the step's outputs: what the
notebook printed (docs/lesson-semantics.md §1, §7, §9, §13, §14), what charnn printed in the
`charnn lesson` run the page is made from, and, when the run's twin was trained too
(notebooks-ref/lesson_twin.py), the Python twin's. Each model's step has its shape walk at the
lesson's batch size and at 1 (`charnn shapes` beside notebooks-ref/shapes.py), its first rows as
characters (`charnn batches`), its fit calls' rows, its loss and learning rate per batch (inline
SVG drawn here) and its text from `charnn sample`.

No request leaves the page: the styles are inline, the plots are SVG, there is no script.

    ./run.sh page                                  # runs/lesson -> docs/lesson.html
    python3 docs/make_page.py --lesson DIR --charnn build/app/charnn [--twin DIR] [--out FILE]

It needs the python whose torch is the build's (the twin's walks run here): ./run.sh page picks it.
"""
import argparse
import concurrent.futures
import csv
import html
import json
import math
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "docs"))
sys.path.insert(0, os.path.join(ROOT, "notebooks-ref"))
import make_side_by_side as sbs  # noqa: E402

PROMPT = "for thos"  # the notebook's test cells
SEMANTICS = "docs/lesson-semantics.md"
COLORS = {"notebook": "#c0392b", "charnn": "#1f5fa8", "twin": "#2e8b3a"}
WHO = {"notebook": "the notebook", "charnn": "charnn", "twin": "the Python twin"}


class PageError(Exception):
    """What stops the page, in one line."""


# ----------------------------------------------------------------------------------------------
# The sources: each step's code, read from the files as make_side_by_side.py reads them
# ----------------------------------------------------------------------------------------------


def python_function(path, name):
    """A top-level `def name(` or `class name` of a Python file, up to the next top-level line."""
    lines = open(os.path.join(ROOT, path)).read().splitlines()
    starts = [i for i, line in enumerate(lines) if re.match(rf"(def|class) {re.escape(name)}\b", line)]
    if not starts:
        raise PageError(f"{path}: no top-level def or class {name}")
    end = next((i for i in range(starts[0] + 1, len(lines)) if lines[i] and not lines[i][0].isspace()), len(lines))
    return "\n".join(lines[starts[0]:end]).rstrip()


def python_method(path, cls, method):
    """A method of a class: its def and the lines indented under it."""
    lines = open(os.path.join(ROOT, path)).read().splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(cls)), None)
    if start is None:
        raise PageError(f"{path}: no {cls}")
    first = next((i for i in range(start + 1, len(lines)) if lines[i].startswith(f"    def {method}(")), None)
    if first is None:
        raise PageError(f"{path}: {cls} has no method {method}")
    end = next((i for i in range(first + 1, len(lines)) if lines[i].strip() and not lines[i].startswith("     ")),
               len(lines))
    return "\n".join(lines[first:end]).rstrip()


def cpp_function(path, signature):
    return sbs.cpp_function(os.path.join(ROOT, path), signature)


def py(path, name, method=None):
    return ("python", path, python_method(path, name, method) if method else python_function(path, name))


def cpp(path, signature):
    return ("cpp", path, cpp_function(path, signature))


def forward_code(section):
    """A model's forward on both sides, by its notebook class."""
    cls, stem = section["class"], section["stem"]
    return ([("python", "notebooks-ref/lesson6.py", sbs.python_forward(os.path.join(ROOT, "notebooks-ref/lesson6.py"),
                                                                       cls))],
            [("cpp", f"models/{stem}.cpp", sbs.cpp_forward(os.path.join(ROOT, f"models/{stem}.cpp"), cls))])


# ----------------------------------------------------------------------------------------------
# What the notebook printed, read from docs/lesson-semantics.md
# ----------------------------------------------------------------------------------------------


def kebab(cls):
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", cls).lower()


def pairs_by_call(text):
    """'a/b, c/d, **e/f**' pairs, split into fit calls where a bold pair ends one."""
    calls, current = [], []
    for bold, trn, val, _ in re.findall(r"(\*\*)?(\d+\.\d+)/(\d+\.\d+)(\*\*)?", text):
        current.append((float(trn), float(val)))
        if bold:
            calls.append(current)
            current = []
    return calls


def section_text(doc, start, end):
    a = doc.index(start)
    b = doc.index(end, a)
    return doc[a:b]


def first_half_rows(doc):
    """§14's table: one row per fit call, the model named where it changes."""
    rows, model = {}, None
    for line in section_text(doc, "## 14.", "### 14.1").splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) < 6 or not re.search(r"\d/\d", cells[4]):
            continue
        if cells[2]:
            model = kebab(re.search(r"`(\w+)`", cells[2]).group(1)) + ("-identity" if "identity" in cells[2] else "")
        rows.setdefault(model, []).extend(pairs_by_call(cells[4]))
    return rows


def second_half_rows(doc):
    """§13.1-§13.4: each subsection's pairs, a bold one ending each fit call."""
    rows = {}
    part = section_text(doc, "## 13.", "### 13.5")
    for block in re.split(r"\n(?=### 13\.\d)", part)[1:]:
        cls = re.search(r"`(\w+)", block).group(1)
        rows[kebab(cls)] = pairs_by_call(block)
    return rows


def found(pattern, text, what, flags=0):
    m = re.search(pattern, text, flags)
    if not m:
        raise PageError(f"{SEMANTICS} no longer says {what}; docs/make_page.py reads it from there")
    return m.group(1)


def notebook_outputs():
    doc = open(os.path.join(ROOT, SEMANTICS)).read()
    return {
        "corpus_length": int(found(r"notebook prints `corpus length: (\d+)`", doc, "the corpus length (§1)")),
        "vocab_size": int(found(r"`vocab_size` is\s+(\d+)", doc, "vocab_size (§1)")),
        "idx10": found(r"`idx\[:10\]` is `(\[[\d, ]+\])`", doc, "idx[:10] (§1)"),
        "lm_data": found(r"`\(len\(md\.trn_dl\), md\.nt, len\(md\.trn_ds\), len\(md\.trn_ds\[0\]\.text\)\)` = "
                         r"`(\([\d, ]+\))`", doc, "the language-model data cell's output (§13)"),
        "rows": {**first_half_rows(doc), **second_half_rows(doc)},
        "sample_windowed": found(r"`get_next_n\('for thos', 40\)` \| `'([^`]*)'`", doc,
                                 "CharRnn's get_next_n (§14.1)"),
        "sample_stateful": found(r"printed \(sampled.*?```text\n(.*?)```", doc, "the LSTM's get_next_n (§13.5)",
                                 re.DOTALL),
    }


# ----------------------------------------------------------------------------------------------
# The run the page is made from: a `charnn lesson --out` directory
# ----------------------------------------------------------------------------------------------


def read_csv(path, missing_ok=False):
    if missing_ok and not os.path.exists(path):
        return []  # batches.csv has a row every 10 batches: a run of fewer has none
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def read_lesson(lesson_dir):
    table = os.path.join(lesson_dir, "lesson.csv")
    if not os.path.isfile(table):
        raise PageError(f"{lesson_dir}: no finished `charnn lesson` run there (no lesson.csv); make one with "
                        f"`./run.sh lesson --out {lesson_dir}` (hours), or `./run.sh lesson --quick --out "
                        f"{lesson_dir}` for a smoke run")
    rows = read_csv(table)
    sections = []
    for name in dict.fromkeys(r["model"] for r in rows):
        run = os.path.join(lesson_dir, name)
        with open(os.path.join(run, "config.json")) as f:
            config = json.load(f)
        sections.append({"name": name, "dir": run, "config": config, "table": [r for r in rows if r["model"] == name],
                         "epochs": read_csv(os.path.join(run, "epochs.csv")),
                         "batches": read_csv(os.path.join(run, "batches.csv"), missing_ok=True)})
    return sections


def read_twin(twin_dir, sections):
    if not twin_dir:
        return {}
    twin = {}
    for s in sections:
        path = os.path.join(twin_dir, s["name"], "twin.json")
        if not os.path.isfile(path):
            raise PageError(f"{path}: missing; make it with `python3 notebooks-ref/lesson_twin.py --lesson "
                            f"{os.path.dirname(s['dir'])} --out {twin_dir}`")
        with open(path) as f:
            twin[s["name"]] = json.load(f)
    return twin


def check_notebook_rows(notebook, sections):
    """The rows read from the doc end where train/run/lesson.cpp says the notebook's calls ended."""
    for s in sections:
        calls = notebook["rows"].get(s["name"])
        if calls is None or len(calls) != len(s["table"]):
            raise PageError(f"{SEMANTICS}: {s['name']}'s fit calls do not match lesson.csv's ({len(s['table'])})")
        for call, row in zip(calls, s["table"]):
            trn, val = call[-1]
            ok = abs(trn - float(row["notebook_trn"])) < 1e-9
            ok = ok and (not row["notebook_val"] or abs(val - float(row["notebook_val"])) < 1e-9)
            if not ok:
                raise PageError(f"{SEMANTICS} and train/run/lesson.cpp disagree on {s['name']}'s fit call "
                                f"{row['fit']}: {trn}/{val} against {row['notebook_trn']}/{row['notebook_val']}")


# ----------------------------------------------------------------------------------------------
# What charnn prints for the page, and the twin's walks and rows (run here, in this python)
# ----------------------------------------------------------------------------------------------


class Charnn:
    def __init__(self, binary):
        if not os.access(binary, os.X_OK):
            raise PageError(f"{binary}: no charnn there; build it with `./run.sh setup`")
        self.binary = binary

    def run(self, *args):
        done = subprocess.run([self.binary, *map(str, args)], capture_output=True, text=True)
        if done.returncode != 0:
            raise PageError(f"charnn {' '.join(map(str, args))}: {done.stderr.strip()}")
        return done.stdout

    def version(self):
        return self.run("--version").strip()

    def data_args(self, config):
        return ["--text", config["text"], "--max-chars", config["max_chars"], "--seed", config["seed"]]

    def shapes(self, config, bs):
        return json.loads(self.run("shapes", config["model"], "--bs", bs, "--json", *self.data_args(config)))

    def batches(self, config):
        return json.loads(self.run("batches", config["model"], "--rows", 8, "--json", *self.data_args(config)))

    def sample(self, run_dir, stateful):
        return self.run("sample", "--checkpoint", run_dir, "--prompt", PROMPT, "-n", 400 if stateful else 40)


def is_stateful(config):
    return config["model"].startswith("char-seq-stateful")


def gather(charnn, sections):
    """Every charnn command the page shows, two at a time (each is a process that loads LibTorch)."""
    jobs = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        for s in sections:
            c = s["config"]
            jobs[("sample", s["name"])] = pool.submit(charnn.sample, s["dir"], is_stateful(c))
            if ("batches", c["model"]) not in jobs:
                jobs[("batches", c["model"])] = pool.submit(charnn.batches, c)
                for bs in (c["bs"], 1):
                    jobs[("shapes", c["model"], bs)] = pool.submit(charnn.shapes, c, bs)
        return {key: job.result() for key, job in jobs.items()}


def twin_views(sections):
    """The twin's walks and first rows for the same text, batch and seed (notebooks-ref/shapes.py,
    batches.py); they need torch."""
    try:
        import torch  # noqa: F401
        import batches
        import shapes
    except ImportError as e:
        raise PageError(f"{sys.executable} cannot import torch ({e}); run the page with the build's python: "
                        "./run.sh page") from e
    torch.set_num_threads(1)
    out = {}
    for s in sections:
        c = s["config"]
        if ("batches", c["model"]) in out:
            continue
        text = shapes.read_text(c["text"], c["max_chars"])
        out[("batches", c["model"])] = batches.first_rows(c["model"], text, 8, c["seed"])
        for bs in (c["bs"], 1):
            out[("shapes", c["model"], bs)] = shapes.lesson_walk(c["model"], text, bs, c["seed"])
        out[("text", c["model"])] = text
    return out


# ----------------------------------------------------------------------------------------------
# HTML pieces
# ----------------------------------------------------------------------------------------------


def esc(value):
    return html.escape(str(value), quote=True)


def code_figure(lang, path, code):
    label = "Python" if lang == "python" else "C++"
    return (f'<figure class="code {lang}"><figcaption>{label} <span class="path">{esc(path)}</span></figcaption>'
            f"<pre><code>{esc(code)}</code></pre></figure>")


def side_by_side(python_blocks, cpp_blocks):
    return ('<div class="pair"><div class="side">' + "".join(code_figure(*b) for b in python_blocks) +
            '</div><div class="side">' + "".join(code_figure(*b) for b in cpp_blocks) + "</div></div>")


def output(who, body, what=""):
    caption = esc(WHO[who]) + (f': <span class="what">{esc(what)}</span>' if what else "")
    return f'<figure class="out {who}"><figcaption>{caption}</figcaption>{body}</figure>'


def outputs_pair(*figures):
    return '<div class="pair">' + "".join(f'<div class="side">{f}</div>' for f in figures if f) + "</div>"


def pre(text):
    return f"<pre>{esc(text)}</pre>"


def table(head, rows):
    cells = "".join(f"<th>{esc(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<div class="scroll"><table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table></div>'


def number(value, digits=5):
    return "" if value is None or value == "" else f"{float(value):.{digits}f}"


def wall(seconds):
    """A fit call's wall time from lesson.csv: empty when an earlier process ran it."""
    if seconds in (None, ""):
        return "(earlier)"
    m, sec = divmod(round(float(seconds)), 60)
    return f"{m} min {sec:02d} s" if m else f"{float(seconds):.1f} s"


def total_wall(sections):
    """The run's training time, summed over the fit calls lesson.csv timed, and how many it did not."""
    timed = [float(r["seconds"]) for s in sections for r in s["table"] if r["seconds"] not in (None, "")]
    untimed = sum(1 for s in sections for r in s["table"] if r["seconds"] in (None, ""))
    return sum(timed), untimed


# ----------------------------------------------------------------------------------------------
# Plots: inline SVG, drawn here (fastai's sched.plot_loss() and sched.plot_lr())
# ----------------------------------------------------------------------------------------------

PLOT_W, PLOT_H, MARGIN_L, MARGIN_R, MARGIN_T, MARGIN_B = 640, 250, 60, 14, 10, 40


def ticks(lo, hi, count=5):
    """Round numbers from lo to hi, about `count` of them."""
    span = hi - lo if hi > lo else abs(hi) or 1.0
    raw = span / count
    step = 10 ** math.floor(math.log10(raw))
    step *= next(m for m in (1, 2, 5, 10) if raw <= step * m)
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]


def thin(points, most=1500):
    """At most `most` points, evenly taken, the last kept: a path that size draws the same."""
    if len(points) <= most:
        return points
    step = len(points) / most
    return [points[int(i * step)] for i in range(most)] + [points[-1]]


def svg_plot(title, series, y_label, y_from_zero=False):
    points = [p for s in series for p in s["points"]]
    if not points:
        return ""
    x0, x1 = 0.0, max(x for x, _ in points) or 1.0
    y0, y1 = min(y for _, y in points), max(y for _, y in points)
    if y_from_zero:
        y0 = 0.0
    pad = (y1 - y0) * 0.06 or abs(y1) * 0.1 or 1.0
    y0, y1 = (y0 if y_from_zero else y0 - pad), y1 + pad
    sx = lambda x: MARGIN_L + (x - x0) / (x1 - x0) * (PLOT_W - MARGIN_L - MARGIN_R)  # noqa: E731
    sy = lambda y: MARGIN_T + (y1 - y) / (y1 - y0) * (PLOT_H - MARGIN_T - MARGIN_B)  # noqa: E731
    out = [f'<svg class="plot" viewBox="0 0 {PLOT_W} {PLOT_H}" role="img" aria-label="{esc(title)}">'
           f"<title>{esc(title)}</title>"]
    for t in ticks(y0, y1):
        out.append(f'<line class="grid" x1="{MARGIN_L}" x2="{PLOT_W - MARGIN_R}" y1="{sy(t):.1f}" y2="{sy(t):.1f}"/>'
                   f'<text x="{MARGIN_L - 6}" y="{sy(t) + 4:.1f}" text-anchor="end">{t:g}</text>')
    for t in ticks(x0, x1):
        out.append(f'<text x="{sx(t):.1f}" y="{PLOT_H - MARGIN_B + 16}" text-anchor="middle">{t:g}</text>')
    out.append(f'<text x="{(MARGIN_L + PLOT_W) / 2:.0f}" y="{PLOT_H - 6}" text-anchor="middle">epoch</text>'
               f'<text transform="translate(14 {(PLOT_H - MARGIN_B) / 2:.0f}) rotate(-90)" '
               f'text-anchor="middle">{esc(y_label)}</text>')
    out.append(f'<rect class="frame" x="{MARGIN_L}" y="{MARGIN_T}" width="{PLOT_W - MARGIN_L - MARGIN_R}" '
               f'height="{PLOT_H - MARGIN_T - MARGIN_B}"/>')
    for s in series:
        out.append(svg_series(s, sx, sy))
    out.append("</svg>")
    legend = "".join(f'<li><span class="key {s["kind"]}" style="--c:{s["color"]}"></span>{esc(s["label"])}</li>'
                     for s in series if s["points"])
    return f'<figure class="plot">{"".join(out)}<ul class="legend">{legend}</ul></figure>'


def svg_series(s, sx, sy):
    pts = thin(s["points"])
    if s["kind"] == "dots":
        return "".join(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3.2" fill="{s["color"]}"/>' for x, y in pts)
    if s["kind"] == "rings":
        return "".join(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="4" fill="none" stroke="{s["color"]}" '
                       f'stroke-width="1.6"/>' for x, y in pts)
    d = " ".join(f"{'M' if i == 0 else 'L'}{sx(x):.1f},{sy(y):.1f}" for i, (x, y) in enumerate(pts))
    faint = ' stroke-opacity="0.35"' if s["kind"] == "faint" else ""
    return f'<path d="{d}" fill="none" stroke="{s["color"]}" stroke-width="1.5"{faint}/>'


def epoch_axis(epoch_ends):
    """Batch number (1-based, over the whole run) -> epochs, from the batches each epoch ended on."""
    def x(step):
        start = 0
        for k, end in enumerate(epoch_ends):
            if step <= end:
                return k + (step - start) / max(1, end - start)
            start = end
        last = epoch_ends[-1] - (epoch_ends[-2] if len(epoch_ends) > 1 else 0)
        return len(epoch_ends) + (step - start) / max(1, last)
    return x


def loss_plot(section, notebook_calls, twin):
    ends = [int(r["step"]) for r in section["epochs"]]
    x = epoch_axis(ends)
    batches = section["batches"]
    series = [
        {"label": "charnn: batch loss", "kind": "faint", "color": COLORS["charnn"],
         "points": [(x(int(b["step"])), float(b["loss"])) for b in batches]},
        {"label": "charnn: smoothed training loss", "kind": "line", "color": COLORS["charnn"],
         "points": [(x(int(b["step"])), float(b["smoothed_loss"])) for b in batches]},
        {"label": "charnn: validation", "kind": "dots", "color": COLORS["charnn"],
         "points": [(k + 1, float(r["val_loss"])) for k, r in enumerate(section["epochs"])]},
    ]
    printed = [row for call in notebook_calls for row in call]
    series.append({"label": "notebook: training (printed)", "kind": "rings", "color": COLORS["notebook"],
                   "points": [(k + 1, trn) for k, (trn, _) in enumerate(printed)]})
    if section["name"] != "char3-model":  # its printed validation is the loss of one row
        series.append({"label": "notebook: validation (printed)", "kind": "dots", "color": COLORS["notebook"],
                       "points": [(k + 1, val) for k, (_, val) in enumerate(printed)]})
    if twin:
        tx = epoch_axis(twin["epoch_ends"])
        series.append({"label": "Python twin: batch loss", "kind": "faint", "color": COLORS["twin"],
                       "points": [(tx(i + 1), v) for i, v in enumerate(twin["losses"])]})
        series.append({"label": "Python twin: validation", "kind": "dots", "color": COLORS["twin"],
                       "points": [(k + 1, r[3]) for k, r in enumerate(twin["rows"])]})
    return svg_plot(f"{section['name']}: loss per batch", series, "loss")


def lr_plot(section, twin):
    x = epoch_axis([int(r["step"]) for r in section["epochs"]])
    rates = [(x(int(b["step"])), float(b["lr"])) for b in section["batches"]]
    series = [{"label": "charnn: the rate in batches.csv (a row every 10 batches)", "kind": "line",
               "color": COLORS["charnn"], "points": rates}]
    if len(rates) <= 200:  # where the rows are few, show where they are
        series.append({"label": "charnn: its rows", "kind": "dots", "color": COLORS["charnn"], "points": rates})
    if twin:
        tx = epoch_axis(twin["epoch_ends"])
        series.append({"label": "Python twin: rate of each batch", "kind": "faint", "color": COLORS["twin"],
                       "points": [(tx(i + 1), v) for i, v in enumerate(twin["lrs"])]})
    return svg_plot(f"{section['name']}: learning rate per batch", series, "learning rate", y_from_zero=True)


# ----------------------------------------------------------------------------------------------
# The steps, in the notebook's order
# ----------------------------------------------------------------------------------------------


class Page:
    """Everything a step draws on: the run, the notebook's outputs, charnn's and the twin's."""

    def __init__(self, sections, notebook, shown, twin_views_, twin):
        self.sections = {s["name"]: s for s in sections}
        self.notebook, self.shown, self.views, self.twin = notebook, shown, twin_views_, twin

    def section(self, name):
        if name not in self.sections:
            raise PageError(f"the run has no section {name}; run the whole lesson (`charnn lesson` without --only)")
        return self.sections[name]

    def config(self, name):
        return self.section(name)["config"]


def step(step_id, title, intro, code, outputs):
    return {"id": step_id, "title": title, "intro": intro, "code": code, "outputs": outputs}


def heading(text):
    return f"<h3>{esc(text)}</h3>"


def read_text_step(page):
    c = page.config("char-rnn")
    cut = f"its first {c['max_chars']} characters" if c["max_chars"] else "all of it"
    text = page.views[("text", c["model"])]
    return step("text", "Read the text",
                "<p>The corpus is Nietzsche's writing, <code>nietzsche.txt</code>. The notebook reads it whole; a "
                "run reads what it trains on, and records the file's size and digest in <code>config.json</code>."
                "</p>",
                ([py("notebooks-ref/lesson6.py", "load_text")],
                 [cpp("data/lesson_data.cpp", "Corpus load_training_text("),
                  cpp("data/corpus.cpp", "Corpus load_corpus(")]),
                outputs_pair(
                    output("notebook", pre(f"corpus length: {page.notebook['corpus_length']}")),
                    output("charnn", pre(f"text {os.path.basename(c['text'])}: {c['text_digest']['bytes']} bytes; "
                                         f"trained on {cut} ({c['trained_digest']['bytes']} bytes)"), "config.json"),
                    output("twin", pre(f"corpus length: {len(text)}"), "the run's text")))


def vocabulary_step(page):
    c = page.config("char-rnn")
    import lesson6
    chars, char_indices, _ = lesson6.make_vocab(page.views[("text", c["model"])])
    idx = lesson6.encode(page.views[("text", c["model"])][:10], char_indices)
    shown = ", ".join(repr(t) for t in c["itos"][:6])
    return step("vocabulary", "The vocabulary",
                "<p>Every distinct character, sorted, with <code>\"\\0\"</code> in front at index 0; "
                "<code>idx</code> is the text as indices.</p>",
                ([py("notebooks-ref/lesson6.py", "make_vocab"), py("notebooks-ref/lesson6.py", "encode")],
                 [cpp("data/corpus.cpp", "Vocab Vocab::from_text("),
                  cpp("data/corpus.cpp", "torch::Tensor Vocab::encode(")]),
                outputs_pair(
                    output("notebook", pre(f"total chars: {page.notebook['vocab_size']}\n"
                                           f"idx[:10] = {page.notebook['idx10']}")),
                    output("charnn", pre(f"vocab_size {c['vocab_size']}; itos {shown}, ..."), "config.json"),
                    output("twin", pre(f"total chars: {len(chars)}\nidx[:10] = {idx}"), "the run's text")))


def rows_table(rows):
    import batches
    return table(["x", "y"], [[batches.visible(x), batches.visible(y)] for x, y in zip(rows["x"], rows["y"])])


def first_rows_outputs(page, model):
    ours = page.shown[("batches", model)]
    theirs = page.views[("batches", model)]
    return (f'<p class="about">{esc(ours["about"])}</p>' +
            outputs_pair(output("charnn", rows_table(ours), f"charnn batches {model}"),
                         output("twin", rows_table(theirs), f"batches.py {model}")))


def windows_step(page):
    lesson6 = "notebooks-ref/lesson6.py"
    return step("windows", "The windows",
                "<p>Three ways of cutting <code>idx</code> into training rows: three characters and the next one "
                "(<code>Char3Model</code>), overlapping windows of 8 and the next character (the loop models and "
                "<code>CharRnn</code>), and non-overlapping windows of 8 with the same 8 shifted by one as labels "
                "(the multi-output model). The rows below are decoded back to characters.</p>",
                ([py(lesson6, "three_char_windows"), py(lesson6, "overlapping_windows"),
                  py(lesson6, "sequence_windows")],
                 [cpp("data/layouts.cpp", "Windows three_char_windows("),
                  cpp("data/layouts.cpp", "Windows overlapping_windows("),
                  cpp("data/layouts.cpp", "Windows sequence_windows(")]),
                "".join(first_rows_outputs(page, m) for m in ("char3-model", "char-loop-model", "char-seq-rnn")))


def windowed_sections(page):
    return [s for s in page.sections.values() if not is_stateful(s["config"])]


def columnar_step(page):
    rows = []
    for s in windowed_sections(page):
        twin = page.twin.get(s["name"])
        rows.append([s["name"], s["config"]["trn_dl"]["rows"], s["config"]["trn_dl"]["batches"],
                     twin["trn_batches"] if twin else ""])
    return step("columnar-model-data", "ColumnarModelData",
                "<p>fastai's <code>get_cv_idxs</code> holds out 20% of the rows (numpy's legacy stream, seed 42), "
                "<code>split_by_idx</code> keeps both parts in order, and <code>from_arrays</code> makes a "
                "shuffled training loader of 512 and an in-order validation loader of 1024.</p>",
                ([py("notebooks-ref/lesson6.py", "get_cv_idxs"), py("notebooks-ref/lesson6.py", "split_by_idx"),
                  py("notebooks-ref/lesson6.py", "from_arrays")],
                 [cpp("data/split.cpp", "torch::Tensor get_cv_idxs("),
                  cpp("data/split.cpp", "SplitIndices split_by_idx("),
                  cpp("data/loader.cpp", "ModelData from_arrays(")]),
                output("charnn", table(["section", "training rows", "len(trn_dl)", "twin's len(trn_dl)"], rows),
                       "config.json's trn_dl; the twin's from lesson_twin.py"))


def fit_step(page):
    rows = []
    for s in page.sections.values():
        twin = page.twin.get(s["name"])
        for r in s["table"]:
            last = [t for t in twin["rows"] if t[0] == int(r["fit"]) - 1][-1] if twin else None
            rows.append([s["name"], r["fit"], r["call"], number(r["notebook_trn"]), number(r["notebook_val"]),
                         number(r["trn_loss"]), number(r["val_loss"]),
                         number(last[2]) if last else "", number(last[3]) if last else "", wall(r["seconds"])])
    return step("fit", "fit and set_lrs",
                "<p>fastai's <code>fit</code>: for each batch, the model, the loss, its gradients and one Adam "
                "step; the printed training loss is an average smoothed over batches (momentum 0.98, debiased), the "
                "validation loss the plain mean over the validation batches. <code>set_lrs</code> changes the rate "
                "between fit calls. Each call's last row:</p>",
                ([py("notebooks-ref/lesson6.py", "fit"), py("notebooks-ref/lesson6.py", "set_lrs")],
                 [cpp("train/fit.cpp", "FitResult fit(")]),
                output("charnn", table(["section", "call", "schedule", "notebook trn", "notebook val", "charnn trn",
                                        "charnn val", "twin trn", "twin val", "charnn wall"], rows),
                       "lesson.csv, beside the notebook's and the twin's last rows"))


def walk_pre(walk):
    import shapes
    return pre(shapes.walk_text(walk))


def walk_outputs(page, model, bs):
    return (heading(f"Shapes: one forward at bs {bs}") +
            outputs_pair(output("charnn", walk_pre(page.shown[("shapes", model, bs)]),
                                f"charnn shapes {model} --bs {bs}"),
                         output("twin", walk_pre(page.views[("shapes", model, bs)]), f"shapes.py {model} --bs {bs}")))


def fit_rows(section, notebook_calls, twin):
    rows = []
    for i, call in enumerate(section["table"]):
        ours = [r for r in section["epochs"] if int(r["fit"]) == i]
        printed = notebook_calls[i]
        theirs = [r for r in twin["rows"] if r[0] == i] if twin else []
        for e in range(max(len(ours), len(printed), len(theirs))):
            nb = printed[e] if e < len(printed) else ("", "")
            o = ours[e] if e < len(ours) else {"trn_loss": "", "val_loss": ""}
            t = theirs[e] if e < len(theirs) else ["", "", "", ""]
            rows.append([f"{i + 1} ({call['call']})" if e == 0 else "", e, nb[0], nb[1], number(o["trn_loss"]),
                         number(o["val_loss"]), number(t[2]), number(t[3])])
    return table(["fit call", "epoch", "notebook trn", "notebook val", "charnn trn", "charnn val", "twin trn",
                  "twin val"], rows)


def sample_outputs(page, section, notebook_text=None):
    twin = page.twin.get(section["name"])
    return outputs_pair(
        output("notebook", pre(notebook_text), f"get_next_n('{PROMPT}', ...)") if notebook_text else "",
        output("charnn", pre(page.shown[("sample", section["name"])]),
               f"charnn sample --checkpoint {section['name']} --prompt '{PROMPT}'"),
        output("twin", pre(twin["sample"]), "get_next_n on the twin's model") if twin else "")


def model_step(page, name, title, intro, extra_code=((), ()), notebook_text=None):
    s = page.section(name)
    c = s["config"]
    walk = page.shown[("shapes", c["model"], c["bs"])]
    py_code, cpp_code = forward_code({"class": walk["notebook_class"],
                                      "stem": os.path.splitext(os.path.basename(walk["source"]))[0]})
    calls = page.notebook["rows"][name]
    twin = page.twin.get(name)
    body = (walk_outputs(page, c["model"], c["bs"]) + walk_outputs(page, c["model"], 1) +
            heading("The first batch, as characters") + first_rows_outputs(page, c["model"]) +
            heading("Fit calls") + fit_rows(s, calls, twin) +
            heading("Loss and learning rate per batch") +
            '<div class="pair">' + f'<div class="side">{loss_plot(s, calls, twin)}</div>' +
            f'<div class="side">{lr_plot(s, twin)}</div></div>' +
            heading(f"Text from the trained model, after '{PROMPT}'") + sample_outputs(page, s, notebook_text))
    return step(name, title, intro, (py_code + list(extra_code[0]), cpp_code + list(extra_code[1])), body)


def windowed_model_steps(page):
    lesson6 = "notebooks-ref/lesson6.py"
    return [
        model_step(page, "char3-model", "Char3Model: three characters, then the next",
                   "<p>Each of the three characters goes through the embedding and the same input layer; the hidden "
                   "state adds them one at a time. Its printed validation loss is the loss of one row "
                   "(<code>val_idxs=[-1]</code>), so it is shown, not compared.</p>"),
        model_step(page, "char-loop-model", "CharLoopModel: the same as a loop",
                   "<p>The three-character model written as a loop over any number of characters: an RNN.</p>"),
        model_step(page, "char-loop-concat-model", "CharLoopConcatModel: concatenate, don't add",
                   "<p>The input and the hidden state are concatenated instead of added.</p>"),
        model_step(page, "char-rnn", "CharRnn: PyTorch's nn.RNN",
                   "<p>The loop replaced by <code>nn.RNN</code>: one call runs all 8 steps and returns every step's "
                   "output and the last hidden state; the model predicts from the last step.</p>",
                   notebook_text=page.notebook["sample_windowed"]),
        model_step(page, "char-seq-rnn", "CharSeqRnn: a prediction at every step",
                   "<p>The multi-output model predicts the next character after every step, against labels "
                   "shifted by one; <code>nll_loss_seq</code> flattens both for the loss.</p>",
                   ([py(lesson6, "nll_loss_seq")], [cpp("train/loss.cpp", "torch::Tensor nll_loss_seq(")])),
        model_step(page, "char-seq-rnn-identity", "Identity init!",
                   "<p>The same model with <code>weight_hh_l0</code> set to the identity before training, and a "
                   "learning rate ten times higher.</p>",
                   ([py(lesson6, "identity_init")],
                    [cpp("models/char_rnn.cpp", "void copy_identity_into_weight_hh(")])),
    ]


def sampling_step(page):
    s = page.section("char-rnn")
    return step("sampling", "Testing the model: get_next and get_next_n",
                "<p>The window's characters as a batch of one; the most likely next character; the window slides "
                "on by one and the model is asked again. (charnn computes the same characters faster with its "
                "window chains, <code>train/generate/window_chains.h</code>.)</p>",
                ([py("notebooks-ref/lesson6.py", "get_next"), py("notebooks-ref/lesson6.py", "get_next_n")],
                 [cpp("train/generate/generate.cpp", "torch::Tensor next_log_probs("),
                  cpp("train/generate/generate.cpp", "void generate(")]),
                sample_outputs(page, s, page.notebook["sample_windowed"]))


def language_model_step(page):
    name = "char-seq-stateful-rnn"
    c = page.config(name)
    twin = page.twin.get(name)
    return step("language-model-data", "LanguageModelData",
                "<p>The second half reads the text as torchtext tokens (lower-cased characters, those seen 3 times "
                "or more), cut into 64 columns that each continue a stretch of it; every batch takes the next rows, "
                "a number drawn from numpy's stream around bptt = 8. The training part is the first 7998 lines.</p>",
                ([py("notebooks-ref/lesson6_stateful.py", "batchify"),
                  py("notebooks-ref/lesson6_stateful.py", "class LanguageModelLoader", "__next__")],
                 [cpp("data/language_model_data.cpp", "torch::Tensor batchify("),
                  cpp("data/language_model_data.cpp", "std::optional<LmBatch> LanguageModelLoader::next()")]),
                outputs_pair(
                    output("notebook", pre(f"(len(md.trn_dl), md.nt, len(md.trn_ds), len(md.trn_ds[0].text))\n"
                                           f"{page.notebook['lm_data']}")),
                    output("charnn", pre(f"len(trn_dl) {c['trn_dl']['batches']}, nt {c['vocab_size']}, "
                                         f"{c['trn_dl']['rows']} rows per column, training lines {c['trn_lines']}"),
                           "config.json"),
                    output("twin", pre(f"len(trn_dl) {twin['trn_batches']}, nt {twin['vocab_size']}"),
                           "lesson_twin.py") if twin else "") +
                first_rows_outputs(page, c["model"]))


def stateful_model_steps(page):
    return [
        model_step(page, "char-seq-stateful-rnn", "CharSeqStatefulRnn: the state carried over",
                   "<p>The hidden state is kept from one batch to the next (and detached, "
                   "<code>repackage_var</code>), so the model reads the text as one long sequence.</p>"),
        model_step(page, "char-seq-stateful-rnn2", "CharSeqStatefulRnn2: the RNN loop",
                   "<p>The same with <code>nn.RNNCell</code> in a loop over the steps.</p>"),
        model_step(page, "char-seq-stateful-gru", "CharSeqStatefulGRU",
                   "<p><code>nn.GRU</code> in place of the RNN.</p>"),
        model_step(page, "char-seq-stateful-lstm", "Putting it all together: CharSeqStatefulLSTM",
                   "<p>Two LSTM layers of 512 with dropout between them, Adam with weight decay "
                   "(<code>LayerOptimizer</code>), two epochs, then two <code>CosAnneal</code> calls of 15 and 63 "
                   "epochs whose warm restarts show in the learning rate.</p>",
                   notebook_text=page.notebook["sample_stateful"]),
    ]


def cos_anneal_step(page):
    s = page.section("char-seq-stateful-lstm")
    cycles = sorted(f for f in os.listdir(s["dir"]) if re.fullmatch(r"cyc_\d+\.pt", f))
    return step("cos-anneal", "CosAnneal",
                "<p>fastai 0.7's cosine annealing with warm restarts: the first twentieth of a cycle at a hundredth "
                "of the rate, then half a cosine down, a cycle counted in <code>len(trn_dl)</code> batches and each "
                "cycle <code>cycle_mult</code> times longer than the one before; each cycle's end saves the weights "
                "(<code>cyc_N.pt</code>).</p>",
                ([py("notebooks-ref/lesson6_stateful.py", "class CosAnneal", "calc_lr")],
                 [cpp("train/cos_anneal.cpp", "CosAnneal::Rate CosAnneal::calc_lr()")]),
                output("charnn", lr_plot(s, page.twin.get(s["name"])) +
                       pre("cycle ends saved: " + (", ".join(cycles) if cycles else "none")),
                       "the LSTM's run: the rate each batch trained at"))


def stateful_sampling_step(page):
    s = page.section("char-seq-stateful-lstm")
    return step("stateful-sampling", "Testing the stateful model",
                "<p>The window is fed as 8 steps of a batch of one; the state carries from call to call, and the next "
                "character is drawn from the last step's distribution (<code>torch.multinomial</code>).</p>",
                ([py("notebooks-ref/lesson6_stateful.py", "get_next"),
                  py("notebooks-ref/lesson6_stateful.py", "get_next_n")],
                 [cpp("train/generate/stateful_generate.cpp", "int64_t get_next(")]),
                sample_outputs(page, s, page.notebook["sample_stateful"]))


def all_steps(page):
    return ([read_text_step(page), vocabulary_step(page), windows_step(page), columnar_step(page), fit_step(page)] +
            windowed_model_steps(page) + [sampling_step(page), language_model_step(page)] +
            stateful_model_steps(page) + [cos_anneal_step(page), stateful_sampling_step(page)])


# ----------------------------------------------------------------------------------------------
# The page
# ----------------------------------------------------------------------------------------------

STYLE = """
:root { --ink: #1d1d1f; --muted: #5b5b66; --line: #d8d8de; --code: #f5f5f7; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); font: 16px/1.55 system-ui, -apple-system, "Segoe UI", sans-serif;
       overflow-wrap: anywhere; background: #fff; }
main { max-width: 84rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.7rem; line-height: 1.25; margin: 0.5rem 0; }
h2 { font-size: 1.35rem; margin: 2.5rem 0 0.5rem; padding-top: 1rem; border-top: 2px solid var(--line); }
h3 { font-size: 1.05rem; margin: 1.4rem 0 0.4rem; }
p { max-width: 52rem; }
code { font: 0.9em/1.4 ui-monospace, "DejaVu Sans Mono", monospace; }
pre { margin: 0; padding: 0.6rem 0.75rem; overflow-x: auto; background: var(--code); border-radius: 6px;
      font: 13px/1.45 ui-monospace, "DejaVu Sans Mono", monospace; overflow-wrap: normal; white-space: pre; }
figure { margin: 0.5rem 0; min-width: 0; }
figcaption { font-size: 0.85rem; color: var(--muted); margin-bottom: 0.2rem; }
.path, .what { font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
.pair { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 26rem), 1fr)); gap: 0.5rem 1rem; }
.side { min-width: 0; }
.code.python figcaption::before, .code.cpp figcaption::before { content: ""; display: inline-block; width: 0.6rem;
      height: 0.6rem; margin-right: 0.35rem; border-radius: 2px; background: #7a7a85; }
.out { border-left: 4px solid var(--who); padding-left: 0.6rem; }
.out.notebook { --who: #c0392b; } .out.charnn { --who: #1f5fa8; } .out.twin { --who: #2e8b3a; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; font-size: 0.85rem; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid var(--line); padding: 0.2rem 0.55rem; text-align: left; white-space: pre; }
td { font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
figure.plot { margin: 0.5rem 0; }
svg.plot { display: block; width: 100%; height: auto; aspect-ratio: 640 / 250; }
svg.plot text { font: 12px system-ui, sans-serif; fill: var(--muted); }
svg.plot .grid { stroke: var(--line); stroke-width: 1; }
svg.plot .frame { fill: none; stroke: #9a9aa5; }
.legend { list-style: none; padding: 0; margin: 0.2rem 0; display: flex; flex-wrap: wrap; gap: 0.2rem 1rem;
          font-size: 0.8rem; color: var(--muted); }
.key { display: inline-block; width: 1.1rem; height: 0.7rem; margin-right: 0.3rem; vertical-align: middle; }
.key.line { border-bottom: 2px solid var(--c); } .key.faint { border-bottom: 2px solid var(--c); opacity: 0.4; }
.key.dots { width: 0.6rem; border-radius: 50%; background: var(--c); }
.key.rings { width: 0.6rem; border-radius: 50%; border: 2px solid var(--c); }
.banner { background: #fff6d6; border: 1px solid #e8d48a; border-radius: 6px; padding: 0.5rem 0.8rem; }
nav ol { columns: 17rem; column-gap: 3rem; padding-left: 1.5rem; }
nav li { break-inside: avoid; }
.about { font-size: 0.9rem; color: var(--muted); }
"""


def render_step(s, number_):
    python_blocks, cpp_blocks = s["code"]
    return (f'<section class="step" id="{esc(s["id"])}"><h2>{number_}. {esc(s["title"])}</h2>{s["intro"]}'
            f"{side_by_side(python_blocks, cpp_blocks)}"
            f'<div class="outputs">{s["outputs"]}</div></section>')


def render(steps, about):
    toc = "".join(f'<li><a href="#{esc(s["id"])}">{esc(s["title"])}</a></li>' for s in steps)
    body = "".join(render_step(s, i + 1) for i, s in enumerate(steps))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<title>fastai lesson 6, side by side: the notebook, its Python twin and charnn</title>"
            f"<style>{STYLE}</style></head><body><main>"
            "<h1>fastai lesson 6, side by side: the notebook, its Python twin and charnn</h1>"
            f"{about}<nav><ol>{toc}</ol></nav>{body}</main></body></html>\n")


def about(sections, charnn_version, lesson_dir, twin, machine):
    quick = [s["config"]["max_chars"] for s in sections if s["config"]["max_chars"]]
    seconds, untimed = total_wall(sections)
    took = (f"<p>The run trained for {wall(seconds)} in all"
            + (f" (the {untimed} fit call(s) shown as “(earlier)” not counted: an earlier process ran them)"
               if untimed else "")
            + (f", on {esc(machine)}" if machine else "")
            + "; each fit call's wall time is in the table of <a href=\"#fit\">fit and set_lrs</a>.</p>")
    banner = (f'<p class="banner">Made from a quick run: the first {quick[0]} characters of the text and one epoch '
              "per fit call (<code>charnn lesson --quick</code>), a smoke run whose numbers are not the notebook's."
              "</p>" if quick else "")
    return (f"<p>Each step of the notebook (<code>courses/dl1/lesson6-rnn.ipynb</code>): the Python of its cells "
            f"(<code>notebooks-ref/</code>) beside the C++ that does the same, read from the sources when this page "
            f"was made (<code>docs/make_page.py</code>), and under them what "
            f'<span style="color:{COLORS["notebook"]}">the notebook printed</span> '
            f"(<code>docs/lesson-semantics.md</code>), what "
            f'<span style="color:{COLORS["charnn"]}">charnn printed</span> in the run '
            f"<code>{esc(os.path.basename(os.path.normpath(lesson_dir)))}</code> ({esc(charnn_version)})"
            + (f', and what <span style="color:{COLORS["twin"]}">the Python twin printed</span> trained the same way'
               if twin else "") +
            ". The shape walks run one forward of each model on the run's first batch: charnn measures the shapes "
            "from the operators LibTorch runs, the twin from its own lines.</p>" + took + banner)


def write_atomically(path, text):
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".lesson-page.", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def check_steps(steps):
    """Every step has both languages and something printed: a page missing one is not written."""
    for s in steps:
        if not s["code"][0] or not s["code"][1] or "<figure class=\"out" not in s["outputs"]:
            raise PageError(f"step {s['id']}: it needs its Python, its C++ and its outputs")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lesson", default="runs/lesson", help="a `charnn lesson --out` directory (default runs/lesson)")
    ap.add_argument("--charnn", required=True, help="the charnn binary that made it")
    ap.add_argument("--twin", help="a notebooks-ref/lesson_twin.py --out directory for the same run")
    ap.add_argument("--out", default="docs/lesson.html")
    ap.add_argument("--machine", help="what the run ran on, for the page's first paragraph (e.g. the CPU, its "
                                      "cores and what else ran), beside the run's wall times")
    args = ap.parse_args()
    try:
        sections = read_lesson(args.lesson)
        notebook = notebook_outputs()
        check_notebook_rows(notebook, sections)
        twin = read_twin(args.twin, sections)
        charnn = Charnn(os.path.abspath(args.charnn))
        page = Page(sections, notebook, gather(charnn, sections), twin_views(sections), twin)
        steps = all_steps(page)
        check_steps(steps)
        write_atomically(args.out, render(steps, about(sections, charnn.version(), args.lesson, twin, args.machine)))
    except PageError as e:
        sys.exit(f"make_page: {e}")
    print(f"make_page: wrote {args.out} ({len(steps)} steps)")


if __name__ == "__main__":
    main()
