"""Forward and one Adam step of a lesson6.py model on a CUDA device, from a given state_dict.

Usage: cuda_step.py --model NAME --state FILE --input FILE --out FILE [--device cuda] [--lr 1e-3]
  --input  a torch.load-able dict with "xs": [cs, B] int64 and "y": the targets
  --out    written by torch.save as {"out": the output before the step, "loss": its loss, and
           "p.<key>": every parameter after the step}, all on the CPU
The C++ test does the same on the same device and compares: parity on the GPU, where the
kernels (cuBLAS, cuDNN) are not the CPU's.
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lesson6 as L  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, choices=sorted(L.MODELS))
    ap.add_argument("--state", required=True)
    ap.add_argument("--input", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--lr", type=float, default=1e-3)
    args = ap.parse_args()

    sd = torch.load(args.state, weights_only=True)
    vocab_size, n_fac = sd["e.weight"].shape
    n_hidden = sd["l_out.weight"].shape[1]
    m = L.make_model(args.model, vocab_size, n_fac, n_hidden)
    m.load_state_dict(sd)
    m.to(args.device)
    m.train()
    batch = torch.load(args.input, weights_only=True)
    xs, y = batch["xs"].to(args.device), batch["y"].to(args.device)
    opt = L.Adam(m.parameters(), args.lr)
    out = L.call_model(m, xs)
    loss = L.criterion(args.model)(out, y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    result = {"out": out.detach().cpu(), "loss": loss.detach().cpu()}
    result.update({"p." + k: v.detach().cpu() for k, v in m.named_parameters()})
    torch.save(result, args.out)


if __name__ == "__main__":
    main()
