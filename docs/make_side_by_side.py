"""Writes docs/side-by-side.md: each model's forward() in the Python twin beside the C++ one, and the
language-model loader's step beside its C++.

Run from the repository root:  python3 docs/make_side_by_side.py
With --check it writes nothing and exits 1 when the page differs from what the sources give (a test
runs this, so the page cannot drift from the code it teaches). Either way it exits 1, with one line,
when models/registry.cpp registers a model that MODELS has no section for, or when a section names a
class notebooks-ref/lesson6.py does not define: the page must show every model, and only real ones.
"""
import os
import re
import sys

MODELS = [("Char3Model", "char3_model"), ("CharLoopModel", "char_loop_model"),
          ("CharLoopConcatModel", "char_loop_concat_model"), ("CharRnn", "char_rnn"),
          ("CharSeqRnn", "char_seq_rnn"), ("CharSeqStatefulRnn", "char_seq_stateful_rnn"),
          ("CharSeqStatefulRnn2", "char_seq_stateful_rnn2"), ("CharSeqStatefulGRU", "char_seq_stateful_gru"),
          ("CharSeqStatefulLSTM", "char_seq_stateful_lstm")]
PAGE = "docs/side-by-side.md"
REGISTRY = "models/registry.cpp"
TWIN = "notebooks-ref/lesson6.py"
# model_entry<Holder>("name", "NotebookClass", ...), an entry possibly wrapped over lines.
ENTRY = re.compile(r'model_entry<\w+>\(\s*"([^"]+)",\s*"([^"]+)"')

INTRO = """# The notebook and the C++ side by side

Each model's `forward` in `notebooks-ref/lesson6.py` (the notebook's cell, with the module-level `n_hidden`
made a constructor argument) beside `models/*.cpp`. The lines correspond one to one and in the same order.
The notebook's `forward(self, *cs)` receives one tensor per character; the C++ models (and the Python twin)
take them already stacked as `cs` of shape `[seq, bs]`, which is what `torch.stack(cs)` makes in `CharRnn`,
so `for c in cs` iterates the same columns.
This page is generated from the sources by `docs/make_side_by_side.py`.
"""


def cpp_function(path, signature):
    src = open(path).read()
    start = src.index(signature)
    return src[start:src.index("\n}\n", start) + 2].rstrip()


def cpp_forward(path, cls):
    return cpp_function(path, f"torch::Tensor {cls}Impl::forward")


def python_method(path, header, method):
    src = open(path).read()
    start = src.index(header)
    ends = [i for i in (src.find("\n\n\nclass", start + 1), src.find("\n\n\ndef", start + 1)) if i >= 0]
    block = src[start:min(ends) if ends else len(src)]
    body = block[block.index(f"    def {method}"):]
    nxt = body.find("\n    def ", 1)
    return (body[:nxt] if nxt >= 0 else body).rstrip()


def python_forward(path, cls):
    return python_method(path, f"class {cls}(nn.Module)", "forward")


def section(cls, stem):
    return (f"\n## {cls}\n\n<table><tr><th>Python (notebooks-ref/lesson6.py)</th>"
            f"<th>C++ (models/{stem}.cpp)</th></tr><tr><td>\n\n"
            f"```python\n{python_forward('notebooks-ref/lesson6.py', cls)}\n```\n\n</td><td>\n\n"
            f"```cpp\n{cpp_forward(f'models/{stem}.cpp', cls)}\n```\n\n</td></tr></table>\n")


def loader_section():
    py = python_method("notebooks-ref/lesson6_stateful.py", "class LanguageModelLoader", "__next__")
    cpp = cpp_function("data/language_model_data.cpp", "std::optional<LmBatch> LanguageModelLoader::next()")
    return ("\n## LanguageModelLoader (the stateful models' data)\n\n"
            "fastai 0.7's loader, with the sequence length drawn from numpy's legacy stream "
            "(`data/split.h`'s NumpyRandomState).\n\n"
            "<table><tr><th>Python (notebooks-ref/lesson6_stateful.py)</th>"
            "<th>C++ (data/language_model_data.cpp)</th></tr><tr><td>\n\n"
            f"```python\n{py}\n```\n\n</td><td>\n\n```cpp\n{cpp}\n```\n\n</td></tr></table>\n")


def registered_models():
    """(name, notebook class) of every model models/registry.cpp registers."""
    entries = ENTRY.findall(open(REGISTRY).read())
    if not entries:
        sys.exit(f"{REGISTRY}: found no model_entry<...>(\"name\", \"Class\", ...) line; has its form changed?")
    return entries


def check_sections():
    sections = {cls for cls, _ in MODELS}
    for name, cls in registered_models():
        if cls not in sections:
            sys.exit(f"{REGISTRY} registers {name} ({cls}), which has no section here: add ({cls!r}, stem) to "
                     "MODELS in docs/make_side_by_side.py")
    twin = open(TWIN).read()
    for cls, _ in MODELS:
        if f"class {cls}(nn.Module)" not in twin:
            sys.exit(f"docs/make_side_by_side.py has a section for {cls}, which {TWIN} does not define")


def page():
    check_sections()
    return INTRO + "".join(section(cls, stem) for cls, stem in MODELS) + loader_section()


if __name__ == "__main__":
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    os.chdir(root)
    text = page()
    if "--check" in sys.argv[1:]:
        with open(PAGE) as f:
            if f.read() != text:
                sys.exit(f"{PAGE} is stale: it no longer matches the sources it shows; "
                         "run python3 docs/make_side_by_side.py and commit the result")
        sys.exit(0)
    with open(PAGE, "w") as f:
        f.write(text)
