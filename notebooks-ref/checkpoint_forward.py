"""Loads a state_dict (e.g. one the C++ code saved) into the lesson6.py model and runs it.

Usage: checkpoint_forward.py --model NAME --state FILE --input FILE --out FILE
  --input  a torch.load-able dict with "xs": [cs, B] int64
  --out    written by torch.save as {"out": the model's output}
The sizes (vocab_size, n_fac, n_hidden, and the LSTM's layers) are read off the state_dict, and
loading is strict, so a checkpoint with the wrong keys fails here rather than running half-loaded.
The model runs in eval mode; a stateful one starts from a zero state for the batch of --input.
"""
import argparse
import collections
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lesson6 as L  # noqa: E402


def sizes(sd):
    """vocab_size, n_fac, n_hidden, as the shapes of the embedding and the output layer give them."""
    vocab_size, n_fac = sd["e.weight"].shape
    return vocab_size, n_fac, sd["l_out.weight"].shape[1]


def layers(sd):
    """An nn.RNN/GRU/LSTM's layers: one rnn.weight_hh_l<k> each (a model without them has 1)."""
    return max(1, sum(1 for key in sd if key.startswith("rnn.weight_hh_l")))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, choices=sorted(L.MODELS))
    ap.add_argument("--state", required=True)
    ap.add_argument("--input", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    # weights_only: the default since PyTorch 2.6, and what a careful 1.13 user passes.
    sd = torch.load(args.state, weights_only=True)
    if type(sd) is not collections.OrderedDict:
        raise SystemExit(f"{args.state}: expected a state_dict (an OrderedDict), got {type(sd).__name__}")
    xs = torch.load(args.input)["xs"]
    m = L.make_model(args.model, *sizes(sd), bs=xs.size(1), nl=layers(sd))
    m.load_state_dict(sd)  # strict
    m.eval()
    with torch.no_grad():
        out = L.call_model(m, xs)
    torch.save({"out": out}, args.out)


if __name__ == "__main__":
    main()
