"""The training step of a lesson6.py model on a CUDA device, timed eager and captured as a CUDA graph.

Usage: cuda_graph_step.py [--model char-rnn] [--steps 200] [--warmup 20]
The graph holds forward, loss, backward and a capturable Adam step (torch.optim.Adam(capturable=True):
its step count and rate live on the device), replayed on the same static batch. Prints one JSON line:
{"model", "device", "torch", "eager_ms", "graph_ms"} (medians).
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lesson6 as L  # noqa: E402


def median(values):
    return sorted(values)[len(values) // 2]


def timed(fn, steps):
    times = []
    for _ in range(steps):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - t0) * 1e3)
    return median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="char-rnn", choices=sorted(L.MODELS))
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    args = ap.parse_args()
    device = torch.device("cuda")
    torch.manual_seed(0)
    vocab, n_fac, n_hidden, bs, cs = 85, 42, 256, 512, 8
    m = L.make_model(args.model, vocab, n_fac, n_hidden).to(device)
    xs = torch.randint(0, vocab, (cs, bs), device=device)
    y = torch.randint(0, vocab, (bs, cs) if args.model == "char-seq-rnn" else (bs,), device=device)
    crit = L.criterion(args.model)
    opt = torch.optim.Adam(m.parameters(), 1e-3, capturable=True)

    def step():
        opt.zero_grad(set_to_none=False)
        loss = crit(L.call_model(m, xs), y)
        loss.backward()
        opt.step()
        return loss

    for _ in range(args.warmup):
        step()
    eager = timed(step, args.steps)
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            step()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        step()
    graphed = timed(graph.replay, args.steps)
    print(json.dumps({"model": args.model, "device": torch.cuda.get_device_name(), "torch": torch.__version__,
                      "eager_ms": eager, "graph_ms": graphed}))


if __name__ == "__main__":
    main()
