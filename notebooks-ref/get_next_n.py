"""The notebook's get_next_n from given weights, for the C++ generation tests.

Reads a state_dict (as charnn writes model.pt) and the run's vocabulary, and writes the
prompt and the n characters lesson6.get_next_n adds to it, UTF-8, to --out.

  python3 get_next_n.py --model char-rnn --state-dict model.pt --chars chars.json \\
      --prompt "for those " -n 200 [--temperature 0.8 --seed 7] --out text.txt
"""
import argparse
import json

import torch

import lesson6 as L


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, choices=sorted(L.MODELS))
    ap.add_argument("--state-dict", required=True)
    ap.add_argument("--chars", required=True, help="a JSON list of the vocabulary's code points")
    ap.add_argument("--prompt", required=True)
    ap.add_argument("-n", type=int, required=True)
    ap.add_argument("--window", type=int, required=True)
    ap.add_argument("--temperature", type=float)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    with open(args.chars) as f:
        chars = [chr(c) for c in json.load(f)]
    char_indices = {c: i for i, c in enumerate(chars)}
    state = torch.load(args.state_dict)
    n_fac, n_hidden = state["e.weight"].shape[1], state["l_out.weight"].shape[1]
    m = L.make_model(args.model, len(chars), n_fac, n_hidden)
    m.load_state_dict(state)
    text = L.get_next_n(m, args.prompt, args.n, args.window, chars, char_indices, args.temperature, args.seed)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main()
