"""Writes docs/side-by-side.md: each model's forward() in the Python twin beside the C++ one.

Run from the repository root:  python3 docs/make_side_by_side.py
"""
MODELS = [("Char3Model", "char3_model"), ("CharLoopModel", "char_loop_model"),
          ("CharLoopConcatModel", "char_loop_concat_model"), ("CharRnn", "char_rnn"),
          ("CharSeqRnn", "char_seq_rnn")]

INTRO = """# The notebook and the C++ side by side

Each model's `forward` in `notebooks-ref/lesson6.py` (the notebook's cell, with the module-level `n_hidden`
made a constructor argument) beside `models/*.cpp`. The lines correspond one to one and in the same order.
The notebook's `forward(self, *cs)` receives one tensor per character; the C++ models (and the Python twin)
take them already stacked as `cs` of shape `[seq, bs]`, which is what `torch.stack(cs)` makes in `CharRnn`,
so `for c in cs` iterates the same columns.
This page is generated from the sources by `docs/make_side_by_side.py`.
"""


def cpp_forward(path, cls):
    src = open(path).read()
    start = src.index(f"torch::Tensor {cls}Impl::forward")
    return src[start:src.index("\n}\n", start) + 2].rstrip()


def python_forward(path, cls):
    src = open(path).read()
    start = src.index(f"class {cls}(nn.Module)")
    end = min(i for i in (src.find("\n\n\nclass", start + 1), src.find("\n\n\ndef", start + 1)) if i >= 0)
    block = src[start:end]
    return block[block.index("    def forward"):].rstrip()


def section(cls, stem):
    return (f"\n## {cls}\n\n<table><tr><th>Python (notebooks-ref/lesson6.py)</th>"
            f"<th>C++ (models/{stem}.cpp)</th></tr><tr><td>\n\n"
            f"```python\n{python_forward('notebooks-ref/lesson6.py', cls)}\n```\n\n</td><td>\n\n"
            f"```cpp\n{cpp_forward(f'models/{stem}.cpp', cls)}\n```\n\n</td></tr></table>\n")


if __name__ == "__main__":
    with open("docs/side-by-side.md", "w") as f:
        f.write(INTRO + "".join(section(cls, stem) for cls, stem in MODELS))
