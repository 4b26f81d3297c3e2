#pragma once
// fastai 0.7's LanguageModelData.from_text_files and LanguageModelLoader, the data of the
// notebook's stateful models: the text cut into bs columns, read bptt-ish rows at a time,
// with a sequence length drawn from numpy's global stream for every batch.
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"
#include "data/split.h"
#include "data/text_field.h"

namespace charnn {

// The notebook's trn/ and val/ folders hold one file each, cut from nietzsche.txt by line. Only
// one cut reproduces the notebook's (963, 56, 1, 493747): the first 7998 lines for training
// (493 746 characters and '<eos>'; no other line count gives 493 747 tokens and 56 tokens of
// vocabulary). The notebook never prints anything about val/, so "the rest of the lines" is an
// assumption taken from its words "last 20% of nietzsche.txt", not a verified fact.
inline constexpr int64_t kLessonTrnLines = 7998;

struct TextFiles {
  std::u32string trn;  // trn/trn.txt
  std::u32string val;  // val/val.txt
  std::string trn_name, val_name;  // what errors call them
};

// The first trn_lines lines (each with its '\n') and the rest. Lines end where Python's text
// mode ends them: at '\n', '\r\n' or '\r', each read as '\n'. `name` is the corpus in errors.
TextFiles split_lines(std::u32string_view text, int64_t trn_lines, std::string_view name);

// Lines as Python's text mode counts them: ended by '\n', '\r\n' or '\r', the last one
// counted whether or not it ends.
int64_t count_lines(std::u32string_view text);

// The training part's lines: `asked` when it is given (> 0), else the lesson's 7998 for a text
// of more lines, and the first 80% of the lines of a shorter one (the lesson's share is 7998
// of 9935). Throws InputError naming `name` when the text has fewer than 2 lines.
int64_t training_lines(std::u32string_view text, int64_t asked, std::string_view name);

// (nb, bs) with data[t][c] = nums[c*nb + t], nb = len(nums) // bs: column c is the c-th stretch
// of the text, and the tail that does not fill a row is dropped.
torch::Tensor batchify(const torch::Tensor& nums, int64_t bs);

struct LmBatch {
  torch::Tensor x;  // (sl, bs) int64: rows i .. i+sl-1 of data
  torch::Tensor y;  // (sl*bs,) int64: rows i+1 .. i+sl, time-major like the model's output
};

class LanguageModelLoader {
 public:
  // np_random is the process-wide numpy stream: the training and validation loaders share it,
  // so each epoch's lengths depend on every batch drawn before it.
  LanguageModelLoader(const torch::Tensor& nums, int64_t bs, int64_t bptt,
                      std::shared_ptr<NumpyRandomState> np_random, std::string_view name);

  // len(dl) = nb // bptt - 1: what fastai's progress bar and CosAnneal count. An epoch usually
  // ends earlier, when the rows run out, because sequences average more than bptt.
  int64_t size() const { return n_ / bptt_ - 1; }
  const torch::Tensor& data() const { return data_; }

  // __iter__ and __next__. Each batch draws one random() and one normal(), then advances i by
  // the unclamped length; the batch that reaches the end is cut to the rows left.
  void reset() {
    i_ = 0;
    iter_ = 0;
  }
  // Where the epoch in progress stands: i, the next batch's first row (advanced by the
  // unclamped lengths), and iter, the batches drawn so far. A resumed run puts both back.
  struct Position {
    int64_t i = 0, iter = 0;
  };
  Position position() const { return {i_, iter_}; }
  void set_position(Position p) {
    i_ = p.i;
    iter_ = p.iter;
  }
  std::optional<LmBatch> next();

  // `for (const auto& [x, y] : dl)` restarts the epoch, as Python's `for x, y in dl` does.
  class Iterator {
   public:
    Iterator(LanguageModelLoader* dl, std::optional<LmBatch> batch) : dl_(dl), batch_(std::move(batch)) {}
    const LmBatch& operator*() const { return *batch_; }
    Iterator& operator++() { batch_ = dl_->next(); return *this; }
    bool operator!=(const Iterator& other) const { return batch_.has_value() != other.batch_.has_value(); }

   private:
    LanguageModelLoader* dl_;
    std::optional<LmBatch> batch_;
  };
  Iterator begin() { reset(); return {this, next()}; }
  Iterator end() { return {this, std::nullopt}; }

 private:
  torch::Tensor data_;  // (nb, bs), contiguous: every batch is two views of it
  int64_t bptt_, n_;
  std::shared_ptr<NumpyRandomState> np_random_;
  int64_t i_ = 0, iter_ = 0;
};

struct LanguageModelData {
  torchtext::Field field;  // the notebook's TEXT, with TEXT.vocab
  torchtext::ConcatTextDataset trn_ds, val_ds;
  int64_t nt;       // len(vocab)
  int64_t pad_idx;  // stoi['<pad>'] = 1
  std::shared_ptr<NumpyRandomState> np_random;
  LanguageModelLoader trn_dl, val_dl;
};

// LanguageModelData.from_text_files(PATH, TEXT, train, validation, bs, bptt, min_freq): the
// vocabulary from the training text only, then one loader per part. A part too short for one
// batch is an InputError naming it.
LanguageModelData from_text_files(TextFiles files, std::shared_ptr<NumpyRandomState> np_random,
                                  int64_t bs = 64, int64_t bptt = 8, int64_t min_freq = 3);

}  // namespace charnn
