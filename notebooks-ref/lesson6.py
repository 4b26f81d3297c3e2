"""fastai lesson 6 (courses/dl1/lesson6-rnn.ipynb), character-level RNNs, in plain PyTorch.

The teaching twin of the C++ code: every section below names the C++ file it sits beside,
and uses the notebook's names in the notebook's order. fastai 0.7 cannot be installed any
more, so the few library pieces the notebook calls (get_cv_idxs, split_by_idx,
ColumnarModelData.from_arrays, fit, set_lrs) are rewritten here with fastai 0.7's behaviour
(see docs/lesson-semantics.md §2-§8).

Two deliberate departures from the notebook, both also made by the C++ port:
  * the loop and RNN models take the stacked [cs, bs] tensor instead of *cs (the notebook
    stacks inside forward; a single tensor is what a LibTorch module can take);
  * the training loader shuffles with a seeded torch.Generator instead of torch's global,
    OS-seeded one, so both languages draw the same batches for the same seed.

Run it beside the notebook:  python3 lesson6.py --text data/nietzsche.txt [--model char-rnn --epochs 1]
"""
import argparse
import inspect
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# ----------------------------------------------------------------------------------------
# Corpus and vocabulary                                                  (data/corpus.cpp)
# ----------------------------------------------------------------------------------------


def corpus_path(given=None):
    """The corpus the way the charnn CLI and the C++ tests find it: the path given, else
    $CHARNN_TEXT, else the data/nietzsche.txt that setup makes beside notebooks-ref/."""
    if given:
        return given
    if os.environ.get("CHARNN_TEXT"):
        return os.environ["CHARNN_TEXT"]
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "nietzsche.txt")


def load_text(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def make_vocab(text):
    """chars, char_indices and indices_char exactly as the notebook builds them."""
    chars = sorted(list(set(text)))
    chars.insert(0, "\0")  # index 0 is reserved (the notebook's padding character)
    char_indices = dict((c, i) for i, c in enumerate(chars))
    indices_char = dict((i, c) for i, c in enumerate(chars))
    return chars, char_indices, indices_char


def encode(text, char_indices):
    """idx = [char_indices[c] for c in text]"""
    return [char_indices[c] for c in text]


# ----------------------------------------------------------------------------------------
# The three data layouts                                                (data/layouts.cpp)
# ----------------------------------------------------------------------------------------


def three_char_windows(idx, cs=3):
    """"Three char model": every cs-th start; the notebook then drops the last two rows."""
    c1_dat = [idx[i] for i in range(0, len(idx) - 1 - cs, cs)]
    c2_dat = [idx[i + 1] for i in range(0, len(idx) - 1 - cs, cs)]
    c3_dat = [idx[i + 2] for i in range(0, len(idx) - 1 - cs, cs)]
    c4_dat = [idx[i + 3] for i in range(0, len(idx) - 1 - cs, cs)]
    x1 = np.stack(c1_dat[:-2])
    x2 = np.stack(c2_dat[:-2])
    x3 = np.stack(c3_dat[:-2])
    y = np.stack(c4_dat[:-2])
    return np.stack([x1, x2, x3], axis=1), y


def overlapping_windows(idx, cs=8):
    """"Our first RNN!": a window at every start, the next character as the label."""
    c_in_dat = [[idx[i + j] for i in range(cs)] for j in range(len(idx) - cs - 1)]
    c_out_dat = [idx[j + cs] for j in range(len(idx) - cs - 1)]
    xs = np.stack(c_in_dat, axis=0)
    y = np.stack(c_out_dat)
    return xs, y


def sequence_windows(idx, cs=8):
    """"Multi-output model": non-overlapping windows, labels shifted by one character."""
    c_in_dat = [[idx[i + j] for i in range(cs)] for j in range(0, len(idx) - cs - 1, cs)]
    c_out_dat = [[idx[i + j] for i in range(cs)] for j in range(1, len(idx) - cs, cs)]
    xs = np.stack(c_in_dat)
    ys = np.stack(c_out_dat)
    return xs, ys


# ----------------------------------------------------------------------------------------
# fastai 0.7: get_cv_idxs, split_by_idx                                   (data/split.cpp)
# ----------------------------------------------------------------------------------------


def get_cv_idxs(n, cv_idx=0, val_pct=0.2, seed=42):
    np.random.seed(seed)  # reseeds numpy's global stream, as fastai does
    n_val = int(val_pct * n)
    idx_start = cv_idx * n_val
    idxs = np.random.permutation(n)
    return idxs[idx_start:idx_start + n_val]


def split_by_idx(idxs, *a):
    """[(a[mask], a[~mask]) for each array]: both parts keep ascending row order."""
    mask = np.zeros(len(a[0]), dtype=bool)
    mask[np.array(idxs)] = True
    return [(o[mask], o[~mask]) for o in a]


# ----------------------------------------------------------------------------------------
# ColumnarModelData.from_arrays                                          (data/loader.cpp)
# ----------------------------------------------------------------------------------------


class DataLoader:
    """Batches of (xs [cs, B] int64, y [B] or [B, cs]); the last partial batch is kept."""

    def __init__(self, xs, y, batch_size, shuffle, seed=0):
        self.columns = torch.from_numpy(np.ascontiguousarray(xs.T)).long()  # [cs, N]
        self.labels = torch.from_numpy(np.ascontiguousarray(y)).long()
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self):
        return (self.columns.size(1) + self.batch_size - 1) // self.batch_size

    def epoch_order(self):
        """One permutation per pass, like PyTorch's RandomSampler, but from our generator."""
        n = self.columns.size(1)
        if not self.shuffle:
            return torch.arange(n)
        return torch.randperm(n, generator=self.generator)

    def __iter__(self):
        order = self.epoch_order()
        for start in range(0, len(order), self.batch_size):
            rows = order[start:start + self.batch_size]
            yield self.columns[:, rows], self.labels[rows]


class ModelData:
    def __init__(self, trn_dl, val_dl):
        self.trn_dl = trn_dl
        self.val_dl = val_dl


def from_arrays(val_idxs, xs, y, bs=512, seed=0):
    """ColumnarModelData.from_arrays('.', val_idxs, xs, y, bs): shuffled train, 2*bs val."""
    ((val_xs, trn_xs), (val_y, trn_y)) = split_by_idx(val_idxs, xs, y)
    return ModelData(DataLoader(trn_xs, trn_y, bs, shuffle=True, seed=seed),
                     DataLoader(val_xs, val_y, bs * 2, shuffle=False))


# ----------------------------------------------------------------------------------------
# The five models                                                            (models/*.cpp)
# ----------------------------------------------------------------------------------------


class Char3Model(nn.Module):                                         # models/char3_model.cpp
    def __init__(self, vocab_size, n_fac, n_hidden=256):
        super().__init__()
        self.e = nn.Embedding(vocab_size, n_fac)
        self.l_in = nn.Linear(n_fac, n_hidden)          # the 'green arrow'
        self.l_hidden = nn.Linear(n_hidden, n_hidden)   # the 'orange arrow'
        self.l_out = nn.Linear(n_hidden, vocab_size)    # the 'blue arrow'

    def forward(self, c1, c2, c3):
        in1 = F.relu(self.l_in(self.e(c1)))
        in2 = F.relu(self.l_in(self.e(c2)))
        in3 = F.relu(self.l_in(self.e(c3)))

        h = torch.zeros(in1.size())
        h = torch.tanh(self.l_hidden(h + in1))
        h = torch.tanh(self.l_hidden(h + in2))
        h = torch.tanh(self.l_hidden(h + in3))

        # The notebook's F.log_softmax(...) has no dim; PyTorch 0.3 chose dim 1 for 2-D input.
        return F.log_softmax(self.l_out(h), dim=1)


class CharLoopModel(nn.Module):                                  # models/char_loop_model.cpp
    # This is an RNN!
    def __init__(self, vocab_size, n_fac, n_hidden=256):
        super().__init__()
        self.n_hidden = n_hidden
        self.e = nn.Embedding(vocab_size, n_fac)
        self.l_in = nn.Linear(n_fac, n_hidden)
        self.l_hidden = nn.Linear(n_hidden, n_hidden)
        self.l_out = nn.Linear(n_hidden, vocab_size)

    def forward(self, cs):
        bs = cs[0].size(0)
        h = torch.zeros(bs, self.n_hidden)
        for c in cs:
            inp = F.relu(self.l_in(self.e(c)))
            h = torch.tanh(self.l_hidden(h + inp))

        return F.log_softmax(self.l_out(h), dim=-1)


class CharLoopConcatModel(nn.Module):                     # models/char_loop_concat_model.cpp
    def __init__(self, vocab_size, n_fac, n_hidden=256):
        super().__init__()
        self.n_hidden = n_hidden
        self.e = nn.Embedding(vocab_size, n_fac)
        self.l_in = nn.Linear(n_fac + n_hidden, n_hidden)
        self.l_hidden = nn.Linear(n_hidden, n_hidden)
        self.l_out = nn.Linear(n_hidden, vocab_size)

    def forward(self, cs):
        bs = cs[0].size(0)
        h = torch.zeros(bs, self.n_hidden)
        for c in cs:
            inp = torch.cat((h, self.e(c)), 1)
            inp = F.relu(self.l_in(inp))
            h = torch.tanh(self.l_hidden(inp))

        return F.log_softmax(self.l_out(h), dim=-1)


class CharRnn(nn.Module):                                               # models/char_rnn.cpp
    def __init__(self, vocab_size, n_fac, n_hidden=256):
        super().__init__()
        self.n_hidden = n_hidden
        self.e = nn.Embedding(vocab_size, n_fac)
        self.rnn = nn.RNN(n_fac, n_hidden)
        self.l_out = nn.Linear(n_hidden, vocab_size)

    def forward(self, cs):
        bs = cs[0].size(0)
        h = torch.zeros(1, bs, self.n_hidden)
        inp = self.e(cs)
        outp, h = self.rnn(inp, h)

        return F.log_softmax(self.l_out(outp[-1]), dim=-1)


class CharSeqRnn(nn.Module):                                        # models/char_seq_rnn.cpp
    def __init__(self, vocab_size, n_fac, n_hidden=256):
        super().__init__()
        self.n_hidden = n_hidden
        self.e = nn.Embedding(vocab_size, n_fac)
        self.rnn = nn.RNN(n_fac, n_hidden)
        self.l_out = nn.Linear(n_hidden, vocab_size)

    def forward(self, cs):
        bs = cs[0].size(0)
        h = torch.zeros(1, bs, self.n_hidden)
        inp = self.e(cs)
        outp, h = self.rnn(inp, h)
        return F.log_softmax(self.l_out(outp), dim=-1)


def identity_init(m):
    """"Identity init!" (CharRnnImpl::identity_init, CharSeqRnnImpl::identity_init)."""
    m.rnn.weight_hh_l0.data.copy_(torch.eye(m.n_hidden))


# The C++ registry's names (models/registry.cpp): name -> (class, layout, criterion name).
# The second half's four join at the end of the file, after their classes.
MODELS = {
    "char3-model": (Char3Model, "three-char", "nll"),
    "char-loop-model": (CharLoopModel, "overlapping", "nll"),
    "char-loop-concat-model": (CharLoopConcatModel, "overlapping", "nll"),
    "char-rnn": (CharRnn, "overlapping", "nll"),
    "char-seq-rnn": (CharSeqRnn, "sequences", "nll-seq"),
}


def windowed_models():
    """The first half's names: the models of the windowed layouts."""
    return [name for name, (_, layout, _) in MODELS.items() if layout != "language-model"]


def make_model(name, vocab_size=85, n_fac=42, n_hidden=256, identity=False, bs=64, nl=2, dropout=0.5):
    """The C++ make_model: a windowed model is cls(vocab_size, n_fac, n_hidden); a stateful one
    also takes the batch its first state is made for, and, when its class takes layers (the
    LSTM), nl and dropout, as models/registry.h builds them."""
    cls, layout, _ = MODELS[name]
    if layout == "language-model":
        if identity:
            raise ValueError(f"{name} has no identity init")
        if "nl" in inspect.signature(cls).parameters:
            return cls(vocab_size, n_fac, bs, nl, n_hidden, dropout)
        return cls(vocab_size, n_fac, bs, n_hidden)
    m = cls(vocab_size, n_fac, n_hidden)
    if identity:
        identity_init(m)
    return m


def call_model(m, xs):
    """One calling convention for all the models (the C++ LessonModel::forward): xs is [cs, B]."""
    return m(*xs) if isinstance(m, Char3Model) else m(xs)


# ----------------------------------------------------------------------------------------
# Loss, set_lrs and fit                                             (train/loss.cpp, fit.cpp)
# ----------------------------------------------------------------------------------------


def nll_loss_seq(inp, targ):
    sl, bs, nh = inp.size()
    targ = targ.transpose(0, 1).contiguous().view(-1)
    return F.nll_loss(inp.view(-1, nh), targ)


def criterion(name):
    return nll_loss_seq if MODELS[name][2] == "nll-seq" else F.nll_loss


def set_lrs(opt, lr):
    for pg in opt.param_groups:
        pg["lr"] = lr


class Adam(torch.optim.Optimizer):
    """torch.optim.Adam in the arithmetic of LibTorch's torch::optim::Adam, for trajectories.

    The first moment is exp_avg * beta1 + grad * (1 - beta1), as LibTorch, PyTorch up to 1.13
    and the notebook's PyTorch 0.3 compute it; PyTorch 2 computes it with lerp_, which rounds
    differently, so its runs leave the C++ ones in the last bits after the first step (and
    visibly at lr 1e-2). weight_decay is coupled L2 (LayerOptimizer's), added to the gradient
    before the moments, as both libraries do."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state.update(step=0, exp_avg=torch.zeros_like(p), exp_avg_sq=torch.zeros_like(p))
                state["step"] += 1
                bias_correction1 = 1 - beta1 ** state["step"]
                bias_correction2 = 1 - beta2 ** state["step"]
                grad = p.grad
                if group["weight_decay"] != 0:
                    grad = grad.add(p, alpha=group["weight_decay"])
                state["exp_avg"].mul_(beta1).add_(grad, alpha=1 - beta1)
                state["exp_avg_sq"].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                denom = (state["exp_avg_sq"].sqrt() / bias_correction2 ** 0.5).add_(group["eps"])
                p.addcdiv_(state["exp_avg"], denom, value=-group["lr"] / bias_correction1)


def validate(model, dl, crit):
    """Plain mean of the per-batch losses: the short last batch counts like a full one."""
    model.eval()
    losses = []
    with torch.no_grad():
        for xs, y in dl:
            losses.append(crit(call_model(model, xs), y).item())
    return float(np.mean(losses)) if losses else 0.0


def fit(model, md, epochs, opt, crit, on_batch=None):
    """fastai 0.7's fit: returns the rows it prints, [epoch, smoothed trn loss, val loss].

    on_batch, when given, receives every training batch's raw loss (trajectory parity)."""
    avg_mom = 0.98
    avg_loss, batch_num, debias_loss = 0.0, 0, 0.0  # carried across the epochs of one fit call
    rows = []
    for epoch in range(epochs):
        model.train()
        for xs, y in md.trn_dl:
            batch_num += 1
            out = call_model(model, xs)  # the notebook's model(*xs)
            opt.zero_grad()
            loss = crit(out, y)
            loss.backward()
            opt.step()
            raw = loss.item()
            if on_batch is not None:
                on_batch(raw)
            avg_loss = avg_loss * avg_mom + raw * (1 - avg_mom)
            debias_loss = avg_loss / (1 - avg_mom ** batch_num)
        rows.append([epoch, debias_loss, validate(model, md.val_dl, crit)])
        print(np.round(rows[-1], 6))
    return rows


# ----------------------------------------------------------------------------------------
# Test model: get_next, get_next_n                               (train/generate/generate.cpp)
# ----------------------------------------------------------------------------------------


def get_next(m, inp, chars, char_indices, temperature=None, generator=None):
    """The notebook's get_next: the window's indices as a batch of one, the model's prediction
    for the next character (the last step's, for the multi-output model), np.argmax of it, or
    a draw from softmax(p / temperature). Index 0, the "\\0" the vocabulary reserves, is never
    chosen: it is in no text."""
    idxs = torch.tensor([char_indices[c] for c in inp], dtype=torch.int64).view(-1, 1)
    m.eval()
    with torch.no_grad():
        p = call_model(m, idxs)
    p = (p[-1][0] if p.dim() == 3 else p[0]).clone()
    p[0] = -float("inf")
    if temperature is None:
        return chars[int(p.argmax())]
    probs = torch.softmax(p / temperature, -1)
    return chars[int(torch.multinomial(probs, 1, False, generator=generator))]


def get_next_n(m, inp, n, window, chars, char_indices, temperature=None, seed=0):
    """The notebook's get_next_n: predict, append, slide the window by one, n times."""
    generator = torch.Generator().manual_seed(seed)
    res = inp
    for _ in range(n):
        c = get_next(m, inp[-window:], chars, char_indices, temperature, generator)
        res += c
        inp = inp[1:] + c
    return res


# ----------------------------------------------------------------------------------------
# The notebook, top to bottom, when run as a script (needs the corpus)
# ----------------------------------------------------------------------------------------


def lesson_data(name, idx, bs=512, seed=0):
    layout = MODELS[name][1]
    if layout == "language-model":
        raise ValueError(f"{name} reads LanguageModelData: see lesson6_stateful.py")
    if layout == "three-char":
        xs, y = three_char_windows(idx)
        return from_arrays([-1], xs, y, bs, seed)
    if layout == "overlapping":
        xs, y = overlapping_windows(idx)
        return from_arrays(get_cv_idxs(len(idx) - 8 - 1), xs, y, bs, seed)
    xs, ys = sequence_windows(idx)
    return from_arrays(get_cv_idxs(len(xs) - 8 - 1), xs, ys, bs, seed)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--text", help="the corpus (default: $CHARNN_TEXT, then data/nietzsche.txt)")
    ap.add_argument("--model", default="char-rnn", choices=sorted(windowed_models()))
    ap.add_argument("--epochs", type=int, default=0, help="0: only print the data facts")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    text = load_text(corpus_path(args.text))
    chars, char_indices, indices_char = make_vocab(text)
    vocab_size = len(chars)
    idx = encode(text, char_indices)
    print("corpus length:", len(text), " total chars:", vocab_size)
    print("idx[:10] =", idx[:10])

    md = lesson_data(args.model, idx, seed=args.seed)
    print(f"{args.model}: {len(md.trn_dl)} training batches, {len(md.val_dl)} validation batches")
    if args.epochs > 0:
        torch.manual_seed(args.seed)
        m = make_model(args.model, vocab_size)
        opt = torch.optim.Adam(m.parameters(), args.lr)
        fit(m, md, args.epochs, opt, criterion(args.model))


# ----------------------------------------------------------------------------------------
# Second half: the stateful models                (models/char_seq_stateful_*.cpp, stateful.h)
# ----------------------------------------------------------------------------------------
# They read the language-model loader's batches, [sl, bs] slices that continue one another,
# so the hidden state carries over from one call to the next: a plain attribute, not a
# parameter or buffer, hence not in the state_dict. forward re-initialises it when the batch
# size changes and detaches it after every call. The notebook's global n_hidden is the last
# constructor argument here (256; the LSTM's cell sets it to 512).


def repackage_var(h):
    """fastai's repackage_var: the same values cut from their graph (a tuple element-wise)."""
    return h.detach() if isinstance(h, torch.Tensor) else tuple(repackage_var(v) for v in h)


class CharSeqStatefulRnn(nn.Module):                       # models/char_seq_stateful_rnn.cpp
    def __init__(self, vocab_size, n_fac, bs, n_hidden=256):
        super().__init__()
        self.vocab_size, self.n_hidden = vocab_size, n_hidden
        self.e = nn.Embedding(vocab_size, n_fac)
        self.rnn = nn.RNN(n_fac, n_hidden)
        self.l_out = nn.Linear(n_hidden, vocab_size)
        self.init_hidden(bs)

    def forward(self, cs):
        bs = cs[0].size(0)
        if self.h.size(1) != bs:
            self.init_hidden(bs)
        outp, h = self.rnn(self.e(cs), self.h)
        self.h = repackage_var(h)
        return F.log_softmax(self.l_out(outp), dim=-1).view(-1, self.vocab_size)

    def init_hidden(self, bs):
        self.h = torch.zeros(1, bs, self.n_hidden)


class CharSeqStatefulRnn2(nn.Module):                     # models/char_seq_stateful_rnn2.cpp
    """The RNN loop. The notebook's state is (1, bs, n_hidden), which PyTorch 0.3's RNNCell
    broadcast; today's RNNCell rejects it, so the state is (bs, n_hidden): the same arithmetic,
    with the batch size in h.size(0)."""

    def __init__(self, vocab_size, n_fac, bs, n_hidden=256):
        super().__init__()
        self.vocab_size, self.n_hidden = vocab_size, n_hidden
        self.e = nn.Embedding(vocab_size, n_fac)
        self.rnn = nn.RNNCell(n_fac, n_hidden)
        self.l_out = nn.Linear(n_hidden, vocab_size)
        self.init_hidden(bs)

    def forward(self, cs):
        bs = cs[0].size(0)
        if self.h.size(0) != bs:
            self.init_hidden(bs)
        outp = []
        o = self.h
        for c in cs:
            o = self.rnn(self.e(c), o)
            outp.append(o)
        outp = self.l_out(torch.stack(outp))
        self.h = repackage_var(o)
        return F.log_softmax(outp, dim=-1).view(-1, self.vocab_size)

    def init_hidden(self, bs):
        self.h = torch.zeros(bs, self.n_hidden)


class CharSeqStatefulGRU(nn.Module):                       # models/char_seq_stateful_gru.cpp
    def __init__(self, vocab_size, n_fac, bs, n_hidden=256):
        super().__init__()
        self.vocab_size, self.n_hidden = vocab_size, n_hidden
        self.e = nn.Embedding(vocab_size, n_fac)
        self.rnn = nn.GRU(n_fac, n_hidden)
        self.l_out = nn.Linear(n_hidden, vocab_size)
        self.init_hidden(bs)

    def forward(self, cs):
        bs = cs[0].size(0)
        if self.h.size(1) != bs:
            self.init_hidden(bs)
        outp, h = self.rnn(self.e(cs), self.h)
        self.h = repackage_var(h)
        return F.log_softmax(self.l_out(outp), dim=-1).view(-1, self.vocab_size)

    def init_hidden(self, bs):
        self.h = torch.zeros(1, bs, self.n_hidden)


class CharSeqStatefulLSTM(nn.Module):                     # models/char_seq_stateful_lstm.cpp
    def __init__(self, vocab_size, n_fac, bs, nl, n_hidden=512, dropout=0.5):
        super().__init__()
        self.vocab_size, self.nl, self.n_hidden = vocab_size, nl, n_hidden
        self.e = nn.Embedding(vocab_size, n_fac)
        self.rnn = nn.LSTM(n_fac, n_hidden, nl, dropout=dropout)
        self.l_out = nn.Linear(n_hidden, vocab_size)
        self.init_hidden(bs)

    def forward(self, cs):
        bs = cs[0].size(0)
        if self.h[0].size(1) != bs:
            self.init_hidden(bs)
        outp, h = self.rnn(self.e(cs), self.h)
        self.h = repackage_var(h)
        return F.log_softmax(self.l_out(outp), dim=-1).view(-1, self.vocab_size)

    def init_hidden(self, bs):
        self.h = (torch.zeros(self.nl, bs, self.n_hidden),
                  torch.zeros(self.nl, bs, self.n_hidden))


def stateful_state(m):
    """The state as a list of tensors, the order of the C++ StatefulModel::state()."""
    return list(m.h) if isinstance(m.h, tuple) else [m.h]


# The C++ registry's names of the second half (F.nll_loss on the flattened targets).
MODELS.update({
    "char-seq-stateful-rnn": (CharSeqStatefulRnn, "language-model", "nll"),
    "char-seq-stateful-rnn2": (CharSeqStatefulRnn2, "language-model", "nll"),
    "char-seq-stateful-gru": (CharSeqStatefulGRU, "language-model", "nll"),
    "char-seq-stateful-lstm": (CharSeqStatefulLSTM, "language-model", "nll"),
})


if __name__ == "__main__":
    main()
