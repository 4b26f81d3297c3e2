#pragma once
// The lesson's first cells: read the text, build `chars` (sorted set + "\0" at index 0),
// the char <-> index maps, and `idx`, the whole text as indices.
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace charnn {

// Decodes strict UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
// Throws InputError "<name>: invalid UTF-8 at byte N" on the first bad sequence.
std::u32string decode_utf8(std::string_view bytes, std::string_view name);
std::string encode_utf8(std::u32string_view text);
std::string encode_utf8(char32_t c);

class Vocab {
 public:
  Vocab() = default;
  // Python: chars = sorted(list(set(text))); chars.insert(0, "\0")
  static Vocab from_text(std::u32string_view text);
  static Vocab from_chars(std::vector<char32_t> chars);
  // As a run's config.json stores it: each entry one character in UTF-8, "\0" first. Anything
  // else is an InputError naming `name`.
  static Vocab from_tokens(const std::vector<std::string>& tokens, std::string_view name);
  std::vector<std::string> tokens() const;

  int64_t size() const { return static_cast<int64_t>(chars_.size()); }
  const std::vector<char32_t>& chars() const { return chars_; }
  char32_t char_at(int64_t i) const { return chars_.at(static_cast<size_t>(i)); }
  // -1 when c is not in the vocabulary.
  int64_t index_of(char32_t c) const;
  // Python: [char_indices[c] for c in text], as one int64 tensor.
  torch::Tensor encode(std::u32string_view text) const;
  std::u32string decode(const torch::Tensor& indices) const;

 private:
  std::vector<char32_t> chars_;
  // Dense code point -> index table (-1 = absent): one load per character keeps
  // encoding the 600k-character corpus in the low milliseconds.
  std::vector<int32_t> index_of_;
};

struct Corpus {
  std::string name;  // the path (or label) errors name
  std::u32string text;
  Vocab vocab;
  torch::Tensor idx;  // [len(text)] int64
  int64_t length() const { return static_cast<int64_t>(text.size()); }
};

Corpus corpus_from_utf8(std::string_view bytes, std::string name);
// Reads a file; every failure (missing, directory, unreadable, empty, bad UTF-8) is an
// InputError naming the path.
Corpus load_corpus(const std::filesystem::path& path);

}  // namespace charnn
