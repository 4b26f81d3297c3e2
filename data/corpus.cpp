#include "data/corpus.h"

#include "common/file.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <system_error>

namespace charnn {
namespace {

[[noreturn]] void bad_utf8(std::string_view name, size_t offset, std::string_view why) {
  throw InputError(fmt::format("{}: invalid UTF-8 at byte {} ({})", name, offset, why));
}

// Length of the sequence a lead byte announces, 0 for bytes that cannot start one.
int sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

}  // namespace

std::u32string decode_utf8(std::string_view bytes, std::string_view name) {
  std::u32string out;
  out.reserve(bytes.size());
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size();
  for (size_t i = 0; i < n;) {
    const int len = sequence_length(p[i]);
    if (len == 0) bad_utf8(name, i, "not a lead byte");
    if (i + static_cast<size_t>(len) > n) bad_utf8(name, i, "truncated sequence");
    char32_t c = len == 1 ? p[i] : p[i] & (0x7F >> len);
    for (int k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) bad_utf8(name, i, "missing continuation byte");
      c = (c << 6) | (p[i + k] & 0x3F);
    }
    if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000)) bad_utf8(name, i, "overlong encoding");
    if (c >= 0xD800 && c <= 0xDFFF) bad_utf8(name, i, "surrogate code point");
    if (c > 0x10FFFF) bad_utf8(name, i, "code point above U+10FFFF");
    out.push_back(c);
    i += static_cast<size_t>(len);
  }
  return out;
}

std::string encode_utf8(char32_t c) {
  std::string s;
  if (c < 0x80) {
    s += static_cast<char>(c);
  } else if (c < 0x800) {
    s += static_cast<char>(0xC0 | (c >> 6));
    s += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    s += static_cast<char>(0xE0 | (c >> 12));
    s += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | (c >> 18));
    s += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (c & 0x3F));
  }
  return s;
}

std::string encode_utf8(std::u32string_view text) {
  std::string s;
  s.reserve(text.size());
  for (char32_t c : text) s += encode_utf8(c);
  return s;
}

Vocab Vocab::from_text(std::u32string_view text) {
  std::vector<char32_t> chars(text.begin(), text.end());
  std::sort(chars.begin(), chars.end());
  chars.erase(std::unique(chars.begin(), chars.end()), chars.end());
  chars.insert(chars.begin(), U'\0');
  return from_chars(std::move(chars));
}

Vocab Vocab::from_chars(std::vector<char32_t> chars) {
  Vocab v;
  v.chars_ = std::move(chars);
  char32_t top = 0;
  for (char32_t c : v.chars_) top = std::max(top, c);
  v.index_of_.assign(static_cast<size_t>(top) + 1, -1);
  // Later entries win, as in Python's dict((c, i) for i, c in enumerate(chars)).
  for (size_t i = 0; i < v.chars_.size(); ++i) v.index_of_[v.chars_[i]] = static_cast<int32_t>(i);
  return v;
}

Vocab Vocab::from_tokens(const std::vector<std::string>& tokens, std::string_view name) {
  std::vector<char32_t> chars;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const auto decoded = decode_utf8(tokens[i], std::string(name));
    if (decoded.size() != 1) {
      throw InputError(fmt::format("{}: entry {} is {} characters long; each entry of a windowed model's "
                                   "vocabulary is one character",
                                   name, i, decoded.size()));
    }
    chars.push_back(decoded[0]);
  }
  if (chars.empty() || chars[0] != U'\0') {
    throw InputError(fmt::format("{}: a windowed model's vocabulary starts with \"\\u0000\"", name));
  }
  return from_chars(std::move(chars));
}

std::vector<std::string> Vocab::tokens() const {
  std::vector<std::string> out;
  out.reserve(chars_.size());
  for (char32_t c : chars_) out.push_back(encode_utf8(c));
  return out;
}

int64_t Vocab::index_of(char32_t c) const {
  return c < index_of_.size() ? index_of_[c] : -1;
}

torch::Tensor Vocab::encode(std::u32string_view text) const {
  auto idx = torch::empty({static_cast<int64_t>(text.size())}, torch::kInt64);
  auto* out = idx.data_ptr<int64_t>();
  for (size_t i = 0; i < text.size(); ++i) {
    const int64_t k = index_of(text[i]);
    if (k < 0) {
      throw InputError(fmt::format("character U+{:04X} '{}' is not in the vocabulary",
                                   static_cast<uint32_t>(text[i]), encode_utf8(text[i])));
    }
    out[i] = k;
  }
  return idx;
}

std::u32string Vocab::decode(const torch::Tensor& indices) const {
  auto flat = indices.to(torch::kCPU, torch::kInt64).contiguous();
  std::u32string out;
  out.reserve(static_cast<size_t>(flat.numel()));
  const auto* p = flat.data_ptr<int64_t>();
  for (int64_t i = 0; i < flat.numel(); ++i) out.push_back(char_at(p[i]));
  return out;
}

Corpus corpus_from_utf8(std::string_view bytes, std::string name) {
  if (bytes.empty()) throw InputError(fmt::format("{}: the text is empty", name));
  Corpus c;
  c.text = decode_utf8(bytes, name);
  c.vocab = Vocab::from_text(c.text);
  c.idx = c.vocab.encode(c.text);
  c.name = std::move(name);
  return c;
}

Corpus load_corpus(const std::filesystem::path& path) {
  return corpus_from_utf8(read_whole_file(path, "a UTF-8 text file"), path.string());
}

}  // namespace charnn
