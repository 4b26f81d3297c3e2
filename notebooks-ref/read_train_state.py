"""Reads a charnn train_state.pt and model.pt with torch.load as a user would, and writes back
what it found, so the C++ test can compare every value with what it saved.

Usage: read_train_state.py --run DIR --out FILE
model.pt loads with weights_only=True (torch.load's default since PyTorch 2.6), and so does
train_state.pt from PyTorch 2 on; 1.13's weights_only unpickler knows no float opcode, so there
train_state.pt (its learning rate, betas, smoothed loss) needs weights_only=False. The output is
a dict of tensors: "<param>.exp_avg", "<param>.exp_avg_sq", "<param>.step", "model.<param>",
"generator", "order", "batch".
"""
import argparse
import os

import torch


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    version = tuple(int(v) for v in torch.__version__.split("+")[0].split(".")[:2])
    path = os.path.join(args.run, "train_state.pt")
    if version >= (2, 6):
        state = torch.load(path)  # as a user calls it: weights_only=True is the default
    else:
        state = torch.load(path, weights_only=version >= (2, 0))
    model = torch.load(os.path.join(args.run, "model.pt"), weights_only=True)
    opt = state["optimizer"]
    out = {}
    for name, s in opt["state"].items():
        out[name + ".exp_avg"] = s["exp_avg"]
        out[name + ".exp_avg_sq"] = s["exp_avg_sq"]
        out[name + ".step"] = torch.tensor(int(s["step"]))
    assert opt["param_groups"][0]["params"] == list(model), (opt["param_groups"][0]["params"], list(model))
    out.update({"model." + k: v for k, v in model.items()})
    assert opt["name"] == "adam", opt["name"]
    out["generator"] = state["data"]["generator"]
    out["order"] = state["data"]["order"]
    out["batch"] = torch.tensor(state["position"]["batch"])
    torch.save(out, args.out)


if __name__ == "__main__":
    main()
