"""fastai lesson 6, second half ("Stateful model"): the data, LanguageModelData.from_text_files.

The teaching twin of data/text_field.cpp and data/language_model_data.cpp, with the same names
in the same order. fastai 0.7 and torchtext 0.1.1 cannot be installed any more, so the pieces
the notebook calls are rewritten here with their behaviour (docs/lesson-semantics.md §9;
CosAnneal §10.2); the random sequence lengths come from numpy's real global np.random, as in
fastai.

The notebook's cell, for comparison:

    TEXT = data.Field(lower=True, tokenize=list)
    bs=64; bptt=8; n_fac=42; n_hidden=256
    FILES = dict(train=TRN_PATH, validation=VAL_PATH, test=VAL_PATH)
    md = LanguageModelData.from_text_files(PATH, TEXT, **FILES, bs=bs, bptt=bptt, min_freq=3)
    len(md.trn_dl), md.nt, len(md.trn_ds), len(md.trn_ds[0].text)   # (963, 56, 1, 493747)

Run it beside the notebook:  python3 lesson6_stateful.py --text data/nietzsche.txt
"""
import argparse
import glob
import io
import os
import tempfile
from collections import Counter

import numpy as np
import torch
import torch.nn.functional as F

from lesson6 import corpus_path  # the CLI's lookup: --text, then $CHARNN_TEXT, then data/

# ----------------------------------------------------------------------------------------
# torchtext 0.1.1's Vocab and Field(lower=True, tokenize=list), fastai's ConcatTextDataset
#                                                                    (data/text_field.cpp)
# ----------------------------------------------------------------------------------------


class Vocab:
    """itos = ['<unk>'] + specials + every token counted min_freq times or more, by count
    (descending) then token (ascending); stoi sends anything else to 0, '<unk>'."""

    def __init__(self, counter, min_freq=1, specials=("<pad>",)):
        self.itos = ["<unk>"] + list(specials)
        counter = Counter({tok: n for tok, n in counter.items() if tok not in self.itos})
        words = sorted(counter.items(), key=lambda tup: tup[0])
        words.sort(key=lambda tup: tup[1], reverse=True)
        self.itos += [tok for tok, n in words if n >= max(min_freq, 1)]
        self.stoi = {tok: i for i, tok in enumerate(self.itos)}

    def __len__(self):
        return len(self.itos)

    def decode(self, nums):
        """How the notebook's get_next turns indices into text: itos[i] for each, joined."""
        return "".join(self.itos[i] for i in nums.reshape(-1).tolist())


class ConcatTextDataset:
    """One example: the tokens of every file of a folder, line by line, '<eos>' after each file."""

    def __init__(self, path, text_field):
        self.text = []
        for p in sorted(glob.glob(os.path.join(path, "*.*"))):
            with open(p, encoding="utf-8") as f:
                for line in f:
                    self.text += text_field.preprocess(line)
            self.text.append("<eos>")

    def __len__(self):
        return 1  # fastai's len(md.trn_ds): one example

    def __getitem__(self, i):
        return self


class Field:
    def __init__(self, lower=True, tokenize=list):
        self.lower, self.tokenize = lower, tokenize
        self.pad_token = "<pad>"

    def preprocess(self, x):
        x = self.tokenize(x)
        return [tok.lower() for tok in x] if self.lower else x

    def build_vocab(self, ds, min_freq=1):
        self.vocab = Vocab(Counter(ds.text), min_freq, specials=[self.pad_token])

    def numericalize(self, tokens):
        return torch.tensor([self.vocab.stoi.get(tok, 0) for tok in tokens], dtype=torch.int64)


# ----------------------------------------------------------------------------------------
# The trn/ and val/ folders, batchify, LanguageModelLoader, LanguageModelData
#                                                            (data/language_model_data.cpp)
# ----------------------------------------------------------------------------------------

TRN_LINES = 7998  # the only line split that reproduces (963, 56, 1, 493747)


def split_lines(text, trn_lines=TRN_LINES):
    """The first trn_lines lines (each with its '\\n') for trn/, the rest for val/."""
    lines = io.StringIO(text, newline="\n").readlines()  # as `for line in open(p)` cuts them
    if len(lines) <= trn_lines:
        raise ValueError(f"{len(lines)} lines, but the training part alone takes {trn_lines}")
    return "".join(lines[:trn_lines]), "".join(lines[trn_lines:])


def write_text_files(path, text, trn_lines=TRN_LINES):
    """PATH/trn/trn.txt and PATH/val/val.txt, the layout from_text_files reads."""
    trn, val = split_lines(text, trn_lines)
    for folder, part in (("trn", trn), ("val", val)):
        os.makedirs(os.path.join(path, folder), exist_ok=True)
        with open(os.path.join(path, folder, f"{folder}.txt"), "w", encoding="utf-8") as f:
            f.write(part)


def batchify(nums, bs):
    """(nb, bs) with data[t][c] = nums[c*nb + t]: column c is the c-th stretch of the text."""
    nb = nums.size(0) // bs
    return nums[:nb * bs].view(bs, -1).t().contiguous()


class LanguageModelLoader:
    """Batches of (x (sl, bs), y (sl*bs,)); sl is drawn from numpy's global stream per batch."""

    def __init__(self, nums, bs, bptt):
        self.bs, self.bptt = bs, bptt
        self.data = batchify(nums, bs)
        self.i, self.iter = 0, 0
        self.n = len(self.data)

    def __iter__(self):
        self.i, self.iter = 0, 0
        return self

    def __len__(self):
        return self.n // self.bptt - 1

    def __next__(self):
        if self.i >= self.n - 1 or self.iter >= len(self):
            raise StopIteration
        bptt = self.bptt if np.random.random() < 0.95 else self.bptt / 2.
        seq_len = max(5, int(np.random.normal(bptt, 5)))
        res = self.get_batch(self.i, seq_len)
        self.i += seq_len  # unclamped: the check above ends the epoch
        self.iter += 1
        return res

    def get_batch(self, i, seq_len):
        seq_len = min(seq_len, self.n - 1 - i)
        return self.data[i:i + seq_len], self.data[i + 1:i + 1 + seq_len].view(-1)


class LanguageModelData:
    def __init__(self, path, field, trn_ds, val_ds, bs, bptt, min_freq):
        self.path, self.bs = path, bs
        self.trn_ds, self.val_ds = trn_ds, val_ds
        field.build_vocab(trn_ds, min_freq=min_freq)
        self.pad_idx = field.vocab.stoi[field.pad_token]
        self.nt = len(field.vocab)
        self.trn_dl, self.val_dl = [LanguageModelLoader(field.numericalize(ds.text), bs, bptt)
                                    for ds in (trn_ds, val_ds)]

    @classmethod
    def from_text_files(cls, path, field, train, validation, bs=64, bptt=70, min_freq=1):
        trn_ds = ConcatTextDataset(os.path.join(path, train), field)
        val_ds = ConcatTextDataset(os.path.join(path, validation), field)
        return cls(path, field, trn_ds, val_ds, bs, bptt, min_freq)


# ----------------------------------------------------------------------------------------
# fit over LanguageModelData, and CosAnneal                 (train/families/language_model.cpp, train/fit.cpp, cos_anneal.cpp)
# ----------------------------------------------------------------------------------------
# fastai 0.7's fit as the stateful cells run it: model(x), zero_grad, F.nll_loss, backward,
# step; the smoothed training loss of the first half's fit (lesson6.fit); callbacks called
# on_train_begin and after every batch. The model keeps its state from call to call: nothing
# here resets it, not between epochs, nor between training and validation.


def validate(model, dl):
    """Plain mean of the per-batch F.nll_loss, in eval mode, without gradients."""
    model.eval()
    losses = []
    with torch.no_grad():
        for x, y in dl:
            losses.append(F.nll_loss(model(x), y).item())
    return float(np.mean(losses)) if losses else 0.0


def fit(model, md, epochs, opt, callbacks=(), on_batch=None):
    """Returns the rows fastai prints, [epoch, smoothed trn loss, val loss]; on_batch, when
    given, receives every training batch's raw loss."""
    avg_mom = 0.98
    avg_loss, batch_num, debias_loss = 0.0, 0, 0.0
    rows = []
    for cb in callbacks:
        cb.on_train_begin()
    for epoch in range(epochs):
        model.train()
        for x, y in md.trn_dl:
            batch_num += 1
            out = model(x)
            opt.zero_grad()
            loss = F.nll_loss(out, y)
            loss.backward()
            opt.step()
            raw = loss.item()
            if on_batch is not None:
                on_batch(raw)
            avg_loss = avg_loss * avg_mom + raw * (1 - avg_mom)
            debias_loss = avg_loss / (1 - avg_mom ** batch_num)
            for cb in callbacks:
                cb.on_batch_end(raw)
        rows.append([epoch, debias_loss, validate(model, md.val_dl)])
    return rows


class CosAnneal:
    """fastai 0.7's CosAnneal(lo, nb, cycle_mult, on_cycle_end), quirks kept (docs/lesson-semantics.md
    §10.2): init is the rate lo held when the callback was built, cycles count nb = len(trn_dl)
    iterations, the first nb/20 of them run at init/100, and a cycle ends while its last batch's
    rate is computed. lrs holds the last rate computed, as lo.lrs does after the run."""

    def __init__(self, opt, init, nb, cycle_mult=1, on_cycle_end=None):
        self.opt, self.init, self.nb, self.cycle_mult = opt, init, nb, cycle_mult
        self.on_cycle_end = on_cycle_end
        self.lrs = init

    def on_train_begin(self):
        self.iteration, self.cycle_iter, self.cycle_count = 0, 0, 0
        self.update_lr()

    def on_batch_end(self, loss):
        self.iteration += 1
        self.update_lr()

    def update_lr(self):
        self.lrs = self.calc_lr(self.init)
        for pg in self.opt.param_groups:
            pg["lr"] = self.lrs

    def calc_lr(self, init_lrs):
        if self.iteration < self.nb / 20:
            self.cycle_iter += 1
            return init_lrs / 100.
        cos_out = np.cos(np.pi * self.cycle_iter / self.nb) + 1
        self.cycle_iter += 1
        if self.cycle_iter == self.nb:
            self.cycle_iter = 0
            self.nb *= self.cycle_mult
            if self.on_cycle_end:
                self.on_cycle_end(self, self.cycle_count)
            self.cycle_count += 1
        return init_lrs / 2 * cos_out


# ----------------------------------------------------------------------------------------
# The test cells: get_next, get_next_n                (train/generate/stateful_generate.cpp)
# ----------------------------------------------------------------------------------------
# The notebook's cells, for comparison (m, TEXT global; the model's state carries over):
#
#     def get_next(inp):
#         idxs = TEXT.numericalize(inp)
#         p = m(VV(idxs.transpose(0,1)))
#         r = torch.multinomial(p[-1].exp(), 1)
#         return TEXT.vocab.itos[to_np(r)[0]]
#
#     def get_next_n(inp, n):
#         res = inp
#         for i in range(n):
#             c = get_next(inp)
#             res += c
#             inp = inp[1:]+c
#         return res
#
# Here m, TEXT and the sampling are arguments. Two choices, the C++'s too: the window is
# lower-cased as the Field's preprocess lowers the training text, and <unk> and <pad> are never
# drawn (-inf before the argmax or the draw). temperature=None is greedy; 1 is the notebook's.


def get_next(m, TEXT, inp, temperature=1.0, generator=None):
    idxs = TEXT.numericalize(TEXT.preprocess(inp))
    p = m(idxs.view(-1, 1))
    scores = p[-1].clone()
    scores[:2] = float("-inf")  # <unk>, <pad>
    if temperature is None:
        r = scores.argmax()
    else:
        probs = scores.exp() if temperature == 1.0 else F.softmax(scores / temperature, dim=-1)
        r = torch.multinomial(probs, 1, generator=generator)[0]
    return TEXT.vocab.itos[r.item()]


def get_next_n(m, TEXT, inp, n, temperature=1.0, seed=0):
    """The first call starts the state for a batch of 1 (the notebook's forward re-inits it when
    the batch size changes from 64); every later window is read on top of the state left."""
    generator = torch.Generator().manual_seed(seed)
    m.eval()
    m.init_hidden(1)
    res = inp
    with torch.no_grad():
        for i in range(n):
            c = get_next(m, TEXT, inp, temperature, generator)
            res += c
            inp = inp[1:] + c
    return res


# ----------------------------------------------------------------------------------------
# The notebook's cell, when run as a script (needs the corpus)
# ----------------------------------------------------------------------------------------


def lesson_md(text_path, path, trn_lines=TRN_LINES, bs=64, bptt=8, min_freq=3):
    """Writes PATH/trn and PATH/val from the corpus, then the notebook's from_text_files."""
    with open(text_path, encoding="utf-8") as f:
        write_text_files(path, f.read(), trn_lines)
    TEXT = Field(lower=True, tokenize=list)
    md = LanguageModelData.from_text_files(path, TEXT, train="trn/", validation="val/",
                                           bs=bs, bptt=bptt, min_freq=min_freq)
    return TEXT, md


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--text", help="the corpus (default: $CHARNN_TEXT, then data/nietzsche.txt)")
    ap.add_argument("--seed", type=int, default=42, help="np.random.seed before the first epoch")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as path:
        TEXT, md = lesson_md(corpus_path(args.text), path)
        print((len(md.trn_dl), md.nt, len(md.trn_ds), len(md.trn_ds[0].text)))
        print(TEXT.vocab.itos)
        np.random.seed(args.seed)
        for name, dl in (("trn", md.trn_dl), ("val", md.val_dl)):
            sls = [len(x) for x, y in dl]
            print(f"{name}: {len(sls)} batches, sequence lengths {sls[:10]} ... {sls[-3:]}, sum {sum(sls)}")


if __name__ == "__main__":
    main()
