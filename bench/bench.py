"""The charnn benchmark: the C++ training step, epoch and generation against the Python
reference (notebooks-ref/lesson6.py) on the same LibTorch, interleaved in one invocation.

The C++ side is build/bench/charnn_bench, a child process that answers one command per
line; this process is the Python side, with PyTorch's defaults as a user gets them. The two
take turns model by model and round by round (C++ first on even rounds, Python first on odd
ones), so a machine that gets busier or quieter during the run moves both sides alike.

Run it through bench/run.sh (or ./run.sh bench), which finds the binary and the Python
that has torch. Results: a table on stdout, and out/bench/results.{json,csv}.
"""
import argparse
import csv
import ctypes
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "notebooks-ref"))
import lesson6  # noqa: E402
import lesson6_stateful  # noqa: E402

MODELS = ["char3-model", "char-loop-model", "char-loop-concat-model", "char-rnn", "char-seq-rnn"]
# The second half's stateful models: (bptt, bs) = (8, 64) batches of the language-model data, the
# hidden state carried from step to step; only the training step is timed.
LM_MODELS = {"char-seq-stateful-rnn": "CharSeqStatefulRnn", "char-seq-stateful-rnn2": "CharSeqStatefulRnn2",
             "char-seq-stateful-gru": "CharSeqStatefulGRU", "char-seq-stateful-lstm": "CharSeqStatefulLSTM"}
LM_BPTT, LM_BS, LM_VOCAB = 8, 64, 56
# C++ variants, each against its base model's Python step (the unadorned name is charnn train's
# step: sharded windowed models, fused recurrent layers where the model has them): "+plain" the
# plain step with PyTorch's layers (bit for bit PyTorch's), "+nn" the windowed sharded step with
# PyTorch's layers.
FUSED_WINDOWED = ["char-rnn", "char-seq-rnn"]
VARIANTS = [m + "+plain" for m in MODELS] + [m + "+nn" for m in FUSED_WINDOWED]
# "+plain": the stateful step with PyTorch's layers; "+sharded": the batch's columns cut across
# the cores (bench/sharded_lm_step.h, with PyTorch's layers).
VARIANTS += [m + "+plain" for m in LM_MODELS] + [m + "+sharded" for m in LM_MODELS]
GEN_VARIANTS = [m + "+recompute" for m in MODELS]  # the notebook's way, against the same Python
BS, N_FAC, N_HIDDEN = 512, 42, 256
STEP_BATCHES = 16  # the first batches of the training order, cycled through by the step timings
SGEMM_SIZES = [(512, 256, 256), (1024, 1024, 1024), (2048, 2048, 2048)]


# ---------------------------------------------------------------------------------------
# FLOPs per training step: the matrix products only (2*m*k*n each), as LibTorch runs them.
# Forward, then backward's grad-input and grad-weight products; a grad-input product is
# left out where the input needs no gradient (the RNN's h0 = zeros). Element-wise work
# (tanh, relu, log_softmax, embedding, Adam) is not counted: it is what a step spends
# beyond the matrix ceiling.
# ---------------------------------------------------------------------------------------
def step_flops(name, vocab, bs=BS, n_fac=N_FAC, nh=N_HIDDEN):
    name = base_model(name)

    def mm(m, k, n):
        return 2 * m * k * n

    if name in LM_MODELS:
        # The input products of all steps are one product (sl*bs rows); the carried state is
        # detached, so the first step's hidden product needs no grad-input.
        sl, bs, vocab = LM_BPTT, LM_BS, LM_VOCAB
        gates, layers = {"char-seq-stateful-gru": (3, 1), "char-seq-stateful-lstm": (4, 2)}.get(name, (1, 1))
        nh = 512 if name == "char-seq-stateful-lstm" else nh
        fwd = mm(sl * bs, n_fac, gates * nh) + (layers - 1) * mm(sl * bs, nh, gates * nh)
        fwd += layers * sl * mm(bs, nh, gates * nh) + mm(sl * bs, nh, vocab)
        return 3 * fwd - layers * mm(bs, nh, gates * nh)

    if name == "char3-model":
        fwd = 3 * mm(bs, n_fac, nh) + 3 * mm(bs, nh, nh) + mm(bs, nh, vocab)
        return 3 * fwd
    if name == "char-loop-model":
        fwd = 8 * mm(bs, n_fac, nh) + 8 * mm(bs, nh, nh) + mm(bs, nh, vocab)
        return 3 * fwd
    if name == "char-loop-concat-model":
        fwd = 8 * mm(bs, n_fac + nh, nh) + 8 * mm(bs, nh, nh) + mm(bs, nh, vocab)
        return 3 * fwd
    out_steps = 1 if name == "char-rnn" else 8
    fwd = 8 * mm(bs, n_fac, nh) + 8 * mm(bs, nh, nh) + out_steps * mm(bs, nh, vocab)
    return 3 * fwd - mm(bs, nh, nh)  # no gradient for h0


def base_model(name):
    """"char-rnn+nn" -> "char-rnn": the lesson model a variant stands in for."""
    return name.split("+")[0]


# ---------------------------------------------------------------------------------------
# The two sides
# ---------------------------------------------------------------------------------------
class Cpp:
    def __init__(self, binary, text, extra_args):
        self.proc = subprocess.Popen([binary, "--text", text, *extra_args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1)

    def ask(self, *words):
        self.proc.stdin.write(" ".join(str(w) for w in words) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            sys.exit(f"charnn_bench exited (rc {self.proc.wait()}) on: {' '.join(map(str, words))}")
        out = json.loads(line)
        if "error" in out:
            sys.exit(f"charnn_bench: {out['error']}")
        return out

    def close(self):
        self.proc.stdin.write("quit\n")
        self.proc.stdin.close()
        self.proc.wait()


def openblas_threads():
    for name in ("libopenblas.so.0", "libblas.so.3"):
        try:
            return ctypes.CDLL(name).openblas_get_num_threads()
        except (OSError, AttributeError):
            continue
    return -1


class Py:
    """The same commands as charnn_bench, on the lesson's Python models."""

    def __init__(self, text):
        self.text_path = text
        self.text = lesson6.load_text(text)
        self.chars, self.char_indices, _ = lesson6.make_vocab(self.text)
        self.idx = lesson6.encode(self.text, self.char_indices)
        self.subjects = {}

    def info(self):
        return {"torch": torch.__version__, "intra_op_threads": torch.get_num_threads(),
                "inter_op_threads": torch.get_num_interop_threads(), "openblas_threads": openblas_threads()}

    def lm_subject(self, name):
        """The notebook's stateful cell: LanguageModelData (trn = the first 7998 lines), the model
        built for bs 512 (its state restarts at the first batch of 64), its optimizer."""
        if "lm_data" not in self.subjects:
            with tempfile.TemporaryDirectory() as path:
                TEXT, md = lesson6_stateful.lesson_md(self.text_path, path)
            self.subjects["lm_data"] = (md.trn_dl.data, md.nt, TEXT)
        data, nt, TEXT = self.subjects["lm_data"]
        torch.manual_seed(0)
        if name == "char-seq-stateful-lstm":
            m = lesson6.CharSeqStatefulLSTM(nt, N_FAC, 512, 2)
            opt = torch.optim.Adam(m.parameters(), 1e-2, weight_decay=1e-5)  # LayerOptimizer(Adam, m, 1e-2, 1e-5)
        else:
            m = getattr(lesson6, LM_MODELS[name])(nt, N_FAC, 512)
            opt = torch.optim.Adam(m.parameters(), 1e-3)
        m.train()
        batches = [(data[8 * k:8 * k + 8], data[8 * k + 1:8 * k + 9].reshape(-1)) for k in range(STEP_BATCHES)]
        return {"m": m, "opt": opt, "crit": F.nll_loss, "batches": batches, "next": 0, "lm": True, "TEXT": TEXT}

    def subject(self, name):
        if name not in self.subjects and name in LM_MODELS:
            self.subjects[name] = self.lm_subject(name)
        if name not in self.subjects:
            assert name in MODELS, name
            torch.manual_seed(0)
            m = lesson6.make_model(name, len(self.chars), N_FAC, N_HIDDEN)
            md = lesson6.lesson_data(name, self.idx, BS)
            batches = []
            for xs, y in md.trn_dl:
                batches.append((xs, y))
                if len(batches) == STEP_BATCHES:
                    break
            opt = torch.optim.Adam(m.parameters(), 1e-2)
            self.subjects[name] = {"m": m, "md": md, "opt": opt, "crit": lesson6.criterion(name),
                                   "batches": batches, "next": 0}
        return self.subjects[name]

    def sgemm(self, m, k, n, reps):
        a, b, c = torch.randn(m, k), torch.randn(k, n), torch.empty(m, n)
        with torch.no_grad():
            for _ in range(3):
                torch.mm(a, b, out=c)
            t = []
            for _ in range(reps):
                t0 = time.perf_counter()
                torch.mm(a, b, out=c)
                t.append(time.perf_counter() - t0)
        t.sort()
        flop = 2.0 * m * k * n
        return {"m": m, "k": k, "n": n, "best_gflops": flop / t[0] / 1e9,
                "median_gflops": flop / t[len(t) // 2] / 1e9}

    def step(self, name, warmup, steps):
        s = self.subject(name)
        m, opt, crit = s["m"], s["opt"], s["crit"]
        fwd, bwd, optt, total = [], [], [], []
        for i in range(-warmup, steps):
            xs, y = s["batches"][s["next"] % len(s["batches"])]
            s["next"] += 1
            t0 = time.perf_counter()
            # lesson6.fit's order
            out = m(xs) if s.get("lm") else lesson6.call_model(m, xs)
            opt.zero_grad()
            loss = crit(out, y)
            loss.item()
            t1 = time.perf_counter()
            loss.backward()
            t2 = time.perf_counter()
            opt.step()
            t3 = time.perf_counter()
            if i < 0:
                continue
            fwd.append((t1 - t0) * 1e3)
            bwd.append((t2 - t1) * 1e3)
            optt.append((t3 - t2) * 1e3)
            total.append((t3 - t0) * 1e3)
        return {"model": name, "fwd_ms": fwd, "bwd_ms": bwd, "opt_ms": optt, "step_ms": total}

    def epoch(self, name, max_batches):
        s = self.subject(name)
        m, opt, crit = s["m"], s["opt"], s["crit"]
        m.train()
        rows = batches = 0
        t0 = time.perf_counter()
        for xs, y in s["md"].trn_dl:
            out = lesson6.call_model(m, xs)
            opt.zero_grad()
            loss = crit(out, y)
            loss.backward()
            opt.step()
            loss.item()
            rows += xs.size(1)
            batches += 1
            if max_batches and batches == max_batches:
                break
        sec = time.perf_counter() - t0
        return {"model": name, "batches": batches, "windows": rows, "seconds": sec, "windows_per_s": rows / sec}

    def generate(self, name, n, reps):
        s = self.subject(name)
        window = 3 if name == "char3-model" else 8
        t = []
        for i in range(reps + 1):  # the first is warm-up
            t0 = time.perf_counter()
            if s.get("lm"):  # the stateful cells' get_next_n, greedy; it leaves the model in eval mode
                text = lesson6_stateful.get_next_n(s["m"], s["TEXT"], "for thos", n, temperature=None)
            else:
                text = get_next_n(s["m"], self.chars, self.char_indices, "for thos", window, n)
            if i > 0:
                t.append(time.perf_counter() - t0)
        s["m"].train()
        med = statistics.median(t)
        return {"model": name, "chars": n, "median_ms": med * 1e3, "chars_per_s": n / med, "text": text}


def get_next_n(m, chars, char_indices, prompt, window, n):
    """The notebook's get_next / get_next_n as a user runs them (no torch.no_grad, np.argmax
    over the prediction), through lesson6.call_model's [cs, B] convention with B = 1."""
    res, inp = prompt, prompt[-window:]
    for _ in range(n):
        idxs = torch.tensor([char_indices[c] for c in inp]).view(-1, 1)
        p = lesson6.call_model(m, idxs)
        if p.dim() == 3:  # the multi-output model: the last step's prediction
            p = p[-1]
        c = chars[int(np.argmax(p.detach().numpy()))]
        res += c
        inp = inp[1:] + c
    return res


# ---------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------
def generate_interleaved(cpp, py, name, n, row, rounds=3):
    """Greedy generation on both sides, alternating which goes first, three repetitions each per
    round; the speedup is the median of the rounds' ratios, as the steps' ratios are."""
    cs, ps, ratios = [], [], []
    for r in range(rounds):
        sides = [lambda: cs.append(cpp.ask("generate", name, n, 3)), lambda: ps.append(py.generate(base_model(name), n, 3))]
        for run in (sides if r % 2 == 0 else sides[::-1]):
            run()
        ratios.append(cs[-1]["chars_per_s"] / ps[-1]["chars_per_s"])
    row["cpp_gen_chars_per_s"] = statistics.median(c["chars_per_s"] for c in cs)
    row["python_gen_chars_per_s"] = statistics.median(p["chars_per_s"] for p in ps)
    row["gen_speedup"] = statistics.median(ratios)
    row["gen_speedup_rounds"] = ratios
    return cs[-1], ps[-1]


def quantiles(xs):
    xs = sorted(xs)
    q = statistics.quantiles(xs, n=10) if len(xs) > 1 else [xs[0]] * 9
    return {"median": statistics.median(xs), "p10": q[0], "p90": q[8], "n": len(xs)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", required=True, help="build/bench/charnn_bench")
    ap.add_argument("--text", default=os.path.join(ROOT, "data", "nietzsche.txt"))
    ap.add_argument("--models", default=",".join(MODELS + list(LM_MODELS)), help="comma-separated registry names")
    ap.add_argument("--variants", action="store_true",
                    help=f"also time the C++ proposals ({', '.join(VARIANTS)}) against the base models' Python step")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds of each side's step block (0: no steps, the epochs and generation only)")
    ap.add_argument("--steps", type=int, default=40, help="timed steps per block")
    ap.add_argument("--warmup", type=int, default=10, help="untimed steps before each block")
    ap.add_argument("--epoch-batches", type=int, default=0,
                    help="batches in the epoch measurement (0: the whole epoch; -1: skip it)")
    ap.add_argument("--gen-chars", type=int, default=400, help="characters per generation (0: skip)")
    ap.add_argument("--out", default=os.path.join(ROOT, "out", "bench"))
    ap.add_argument("--cpp-arg", action="append", default=[],
                    help="passed to charnn_bench, e.g. --cpp-arg=--no-configure-threads")
    args = ap.parse_args()
    models = args.models.split(",")
    for name in models:
        if name not in MODELS + list(LM_MODELS) + VARIANTS:
            sys.exit(f"unknown model {name!r} (known: {', '.join(MODELS + list(LM_MODELS) + VARIANTS)})")
    if args.variants:
        models += [p for p in VARIANTS if base_model(p) in models and p not in models]

    cpp = Cpp(args.bin, args.text, args.cpp_arg)
    py = Py(args.text)
    vocab = len(py.chars)
    results = {"info": {"cpp": cpp.ask("info"), "python": py.info(), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                        "load_avg_start": os.getloadavg(), "args": vars(args)}}
    ci, pi = results["info"]["cpp"], results["info"]["python"]
    print(f"threads: C++ {ci['threads_policy']}; Python intra-op {pi['intra_op_threads']}, "
          f"OpenBLAS {pi['openblas_threads']}; {ci['build']} build; load {os.getloadavg()[0]:.2f}", flush=True)

    # sgemm ceiling through the same LibTorch, both sides.
    sg = {"cpp": [], "python": []}
    for m, k, n in SGEMM_SIZES:
        reps = max(5, int(2e10 / (2 * m * k * n)))
        sg["cpp"].append(cpp.ask("sgemm", m, k, n, reps))
        sg["python"].append(py.sgemm(m, k, n, reps))
    ceiling = max(r["best_gflops"] for r in sg["cpp"])
    results["sgemm"] = sg
    results["sgemm_ceiling_gflops"] = ceiling
    print("sgemm GFLOP/s (best, C++ | Python): " + ", ".join(
        f"{c['m']}x{c['k']}x{c['n']} {c['best_gflops']:.0f} | {p['best_gflops']:.0f}" for c, p in zip(sg["cpp"], sg["python"])),
        flush=True)

    # A proposal must compute what the lesson model computes: same loss, same gradients.
    for name in models:
        if name in VARIANTS:
            v = results.setdefault("verify", {})[name] = cpp.ask("verify", name)
            print(f"{name}: loss differs by {v['loss_diff']:.1e}, gradients by at most {v['max_grad_diff']:.1e} "
                  f"from {base_model(name)}", flush=True)

    # Training steps, interleaved.
    steps = {name: {"cpp": [], "python": [], "ratios": []} for name in models}
    for r in range(args.rounds):
        warm = args.warmup if r == 0 else max(2, args.warmup // 4)
        for name in models:
            sides = [("cpp", lambda: cpp.ask("step", name, warm, args.steps)),
                     ("python", lambda: py.step(base_model(name), warm, args.steps))]
            if r % 2:
                sides.reverse()
            block = {side: run() for side, run in sides}
            for side in ("cpp", "python"):
                steps[name][side].append(block[side])
            steps[name]["ratios"].append(statistics.median(block["cpp"]["step_ms"]) /
                                         statistics.median(block["python"]["step_ms"]))
        print(f"round {r + 1}/{args.rounds}: " + ", ".join(
            f"{n} {steps[n]['ratios'][-1]:.2f}" for n in models) + " (C++/Python step)", flush=True)

    rows = []
    for name in models:
        if not steps[name]["cpp"]:  # --rounds 0
            rows.append({"model": name})
            continue
        row = {"model": name, "flops_per_step": step_flops(name, vocab)}
        for side in ("cpp", "python"):
            for phase in ("step", "fwd", "bwd", "opt"):
                vals = [v for block in steps[name][side] for v in block[f"{phase}_ms"]]
                qs = quantiles(vals)
                row[f"{side}_{phase}_ms"] = qs["median"]
                if phase == "step":
                    row[f"{side}_step_p10_ms"], row[f"{side}_step_p90_ms"] = qs["p10"], qs["p90"]
        row["ratio"] = row["cpp_step_ms"] / row["python_step_ms"]
        row["ratio_rounds_min"], row["ratio_rounds_max"] = min(steps[name]["ratios"]), max(steps[name]["ratios"])
        for side in ("cpp", "python"):
            gflops = row["flops_per_step"] / (row[f"{side}_step_ms"] / 1e3) / 1e9
            row[f"{side}_gflops"] = gflops
            row[f"{side}_ceiling_frac"] = gflops / ceiling
        rows.append(row)

    # A full epoch through the loader, then greedy generation.
    gen_rows = [{"model": p} for p in GEN_VARIANTS if args.variants and base_model(p) in models]
    for row in rows + gen_rows:
        name = row["model"]
        if name in GEN_VARIANTS:
            if args.gen_chars > 0:
                c, p = generate_interleaved(cpp, py, name, args.gen_chars, row)
                row["gen_same_text_as_default"] = c["same_text_as_default"]
            continue
        if name not in MODELS and name not in LM_MODELS:
            continue
        if name in MODELS and args.epoch_batches >= 0:
            c = cpp.ask("epoch", name, args.epoch_batches)
            p = py.epoch(name, args.epoch_batches)
            row["cpp_epoch_windows_per_s"], row["python_epoch_windows_per_s"] = c["windows_per_s"], p["windows_per_s"]
            row["epoch_batches"] = c["batches"]
            print(f"epoch {name}: {c['batches']} batches, C++ {c['seconds']:.1f} s, Python {p['seconds']:.1f} s", flush=True)
        if args.gen_chars > 0:
            c, p = generate_interleaved(cpp, py, name, args.gen_chars, row)
            row["gen_same_text_as_python"] = c["text"] == p["text"]
            results.setdefault("generated", {})[name] = {"cpp": c["text"], "python": p["text"]}
    cpp.close()
    rows += gen_rows
    results["rows"] = rows
    results["steps_raw"] = steps
    results["info"]["load_avg_end"] = os.getloadavg()

    print_table(rows, ceiling, args.gen_chars)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    with open(os.path.join(args.out, "results.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(dict.fromkeys(k for r in rows for k in r)))
        w.writeheader()
        w.writerows(rows)
    print(f"\nwrote {os.path.join(args.out, 'results.json')} and results.csv")


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def print_table(rows, ceiling, gen_chars):
    if any("cpp_step_ms" in r for r in rows):
        print_step_table(rows, ceiling)
    if any("cpp_epoch_windows_per_s" in r or "cpp_gen_chars_per_s" in r for r in rows):
        print(f"\n{'model':<24}{'epoch windows/s C++|Py':>26}{f'greedy {gen_chars} chars/s C++|Py':>30}{'speedup':>9}")
        for r in (r for r in rows if "cpp_epoch_windows_per_s" in r or "cpp_gen_chars_per_s" in r):
            ep = (f"{fmt(r.get('cpp_epoch_windows_per_s'), '.0f')}|{fmt(r.get('python_epoch_windows_per_s'), '.0f')}")
            gen = f"{fmt(r.get('cpp_gen_chars_per_s'), '.0f')}|{fmt(r.get('python_gen_chars_per_s'), '.0f')}"
            print(f"{r['model']:<24}{ep:>26}{gen:>30}{fmt(r.get('gen_speedup'), '.1f'):>9}")


def print_step_table(rows, ceiling):
    print(f"\nTraining step, batch {BS}, n_fac {N_FAC}, n_hidden {N_HIDDEN}; the stateful models (8, 64), the "
          f"LSTM at n_hidden 512, 2 layers (ms, median [p10-p90]); sgemm ceiling {ceiling:.0f} GFLOP/s")
    head = (f"{'model':<28}{'C++ step':>22}{'Python step':>22}{'C++/Py':>8}{'fwd C++|Py':>14}{'bwd C++|Py':>14}"
            f"{'opt C++|Py':>12}{'MFLOP':>7}{'ceil C++|Py':>13}")
    print(head)
    print("-" * len(head))
    for r in (r for r in rows if "cpp_step_ms" in r):
        print(f"{r['model']:<28}"
              f"{'%.1f [%.1f-%.1f]' % (r['cpp_step_ms'], r['cpp_step_p10_ms'], r['cpp_step_p90_ms']):>22}"
              f"{'%.1f [%.1f-%.1f]' % (r['python_step_ms'], r['python_step_p10_ms'], r['python_step_p90_ms']):>22}"
              f"{r['ratio']:>8.2f}"
              f"{'%.1f|%.1f' % (r['cpp_fwd_ms'], r['python_fwd_ms']):>14}"
              f"{'%.1f|%.1f' % (r['cpp_bwd_ms'], r['python_bwd_ms']):>14}"
              f"{'%.1f|%.1f' % (r['cpp_opt_ms'], r['python_opt_ms']):>12}"
              f"{r['flops_per_step'] / 1e6:>7.0f}"
              f"{'%.0f%%|%.0f%%' % (100 * r['cpp_ceiling_frac'], 100 * r['python_ceiling_frac']):>13}")


if __name__ == "__main__":
    main()
