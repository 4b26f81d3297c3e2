#pragma once
// torchtext 0.1.1's Field and Vocab as the notebook's stateful section uses them:
// `TEXT = data.Field(lower=True, tokenize=list)` and `TEXT.build_vocab(trn_ds, min_freq=3)`.
// A token is one character lower-cased by Python's str.lower (İ lowers to two characters,
// "i" + U+0307, which stay one token as in torchtext). So a text stays a u32string and
// numericalising is one table look-up per character; no list of token strings is built.
#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/error.h"

namespace charnn::torchtext {

// The special tokens: itos starts <unk>, <pad>; ConcatTextDataset ends every file with <eos>.
inline const std::u32string kUnk = U"<unk>";
inline const std::u32string kPad = U"<pad>";
inline const std::u32string kEos = U"<eos>";

using Counter = std::map<std::u32string, int64_t>;

class Vocab {
 public:
  Vocab() = default;
  // Vocab(counter, min_freq, specials=['<pad>']): itos = ['<unk>', '<pad>'] + the tokens
  // counted at least min_freq times, by count descending, then token ascending.
  static Vocab from_counter(const Counter& counter, int64_t min_freq);
  // A vocabulary as a run's config.json stores it: UTF-8 strings, '<unk>' and '<pad>' first,
  // no repeats. Anything else is an InputError naming `name`.
  static Vocab from_itos(std::vector<std::string> itos, std::string_view name);

  const std::vector<std::string>& itos() const { return itos_; }  // UTF-8
  int64_t size() const { return static_cast<int64_t>(itos_.size()); }
  // stoi[token], 0 (<unk>) for a token outside the vocabulary, like torchtext's defaultdict.
  int64_t stoi(const std::u32string& token) const;
  // "".join(itos[i] for i in indices): how the notebook's get_next turns indices into text.
  std::string decode(const torch::Tensor& indices) const;

 private:
  std::vector<std::string> itos_;
  std::map<std::u32string, int64_t> stoi_;
};

// fastai's ConcatTextDataset over one file: a single example whose tokens are the file's
// characters, then '<eos>'.
struct ConcatTextDataset {
  std::u32string text;
  int64_t num_tokens() const { return static_cast<int64_t>(text.size()) + 1; }  // len(ds[0].text)
};

// Field(lower=True, tokenize=list).
class Field {
 public:
  explicit Field(bool lower = true) : lower_(lower) {}

  // The token of one character: tokenize=list, then str.lower.
  std::u32string preprocess(char32_t c) const;
  // build_vocab(ds, min_freq=...): from the tokens of this one dataset, '<eos>' included.
  void build_vocab(const ConcatTextDataset& ds, int64_t min_freq);
  // [stoi[t] for t in ds.text] as one int64 tensor, '<eos>' last.
  torch::Tensor numericalize(const ConcatTextDataset& ds) const;
  // The same for a bare text, without '<eos>' (a prompt).
  torch::Tensor numericalize(std::u32string_view text) const;

  Vocab vocab;

 private:
  bool lower_;
};

}  // namespace charnn::torchtext
