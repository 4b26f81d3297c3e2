"""Forward and one Adam step of a lesson6.py model on a CUDA device, from a given state_dict.

Usage: cuda_step.py --model NAME --state FILE --input FILE --out FILE [--device cuda] [--lr 1e-3]
                    [--dropout 0.5]
  --input  a torch.load-able dict with "xs": [cs, B] int64 and "y": the targets
  --dropout  the LSTM's, between its layers (the test passes 0: no two libraries draw the
           same masks on a GPU)
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
from checkpoint_forward import layers, sizes  # noqa: E402


def to_device(m, device):
    """The model, and a stateful model's state: a plain attribute, which Module.to leaves behind."""
    m.to(device)
    if hasattr(m, "h"):
        m.h = tuple(t.to(device) for t in m.h) if isinstance(m.h, tuple) else m.h.to(device)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, choices=sorted(L.MODELS))
    ap.add_argument("--state", required=True)
    ap.add_argument("--input", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--dropout", type=float, default=0.5)
    args = ap.parse_args()

    sd = torch.load(args.state, weights_only=True)
    batch = torch.load(args.input, weights_only=True)
    m = L.make_model(args.model, *sizes(sd), bs=batch["xs"].size(1), nl=layers(sd), dropout=args.dropout)
    m.load_state_dict(sd)
    to_device(m, args.device)
    m.train()
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
