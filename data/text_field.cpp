#include "data/text_field.h"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "data/corpus.h"
#include "data/unicode_lower.h"

namespace charnn::torchtext {

Vocab Vocab::from_counter(const Counter& counter, int64_t min_freq) {
  std::vector<std::pair<std::u32string, int64_t>> words;
  for (const auto& [token, count] : counter) {
    // torchtext subtracts the specials' own counts, so they never come twice.
    if (token != kUnk && token != kPad && count >= std::max<int64_t>(min_freq, 1)) words.emplace_back(token, count);
  }
  std::sort(words.begin(), words.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  std::vector<std::string> itos{encode_utf8(kUnk), encode_utf8(kPad)};
  for (const auto& word : words) itos.push_back(encode_utf8(word.first));
  return from_itos(std::move(itos), "vocabulary");
}

Vocab Vocab::from_itos(std::vector<std::string> itos, std::string_view name) {
  if (itos.size() < 2 || itos[0] != encode_utf8(kUnk) || itos[1] != encode_utf8(kPad)) {
    throw InputError(fmt::format("{}: a vocabulary starts with \"<unk>\", \"<pad>\"", name));
  }
  Vocab v;
  for (size_t i = 0; i < itos.size(); ++i) {
    const auto token = decode_utf8(itos[i], fmt::format("{} entry {}", name, i));
    if (token.empty()) throw InputError(fmt::format("{}: entry {} is an empty token", name, i));
    const auto [it, fresh] = v.stoi_.emplace(token, static_cast<int64_t>(i));
    if (!fresh) throw InputError(fmt::format("{}: token \"{}\" is both entry {} and {}", name, itos[i], it->second, i));
  }
  v.itos_ = std::move(itos);
  return v;
}

int64_t Vocab::stoi(const std::u32string& token) const {
  const auto it = stoi_.find(token);
  return it == stoi_.end() ? 0 : it->second;
}

std::string Vocab::decode(const torch::Tensor& indices) const {
  const auto flat = indices.to(torch::kCPU, torch::kInt64).contiguous();
  const auto* p = flat.data_ptr<int64_t>();
  std::string out;
  for (int64_t k = 0; k < flat.numel(); ++k) {
    if (p[k] < 0 || p[k] >= size()) {
      throw std::out_of_range(fmt::format("index {} is outside the vocabulary of {} tokens", p[k], size()));
    }
    out += itos_[static_cast<size_t>(p[k])];
  }
  return out;
}

std::u32string Field::preprocess(char32_t c) const {
  return lower_ ? python_lower(c) : std::u32string(1, c);
}

void Field::build_vocab(const ConcatTextDataset& ds, int64_t min_freq) {
  // Count characters first: the corpus has few distinct ones, and each lowers once.
  std::unordered_map<char32_t, int64_t> chars;
  for (char32_t c : ds.text) ++chars[c];
  Counter counter;
  for (const auto& [c, n] : chars) counter[preprocess(c)] += n;
  counter[kEos] += 1;
  vocab = Vocab::from_counter(counter, min_freq);
}

torch::Tensor Field::numericalize(std::u32string_view text) const {
  auto nums = torch::empty({static_cast<int64_t>(text.size())}, torch::kInt64);
  auto* out = nums.data_ptr<int64_t>();
  std::unordered_map<char32_t, int64_t> index_of;
  for (size_t k = 0; k < text.size(); ++k) {
    auto it = index_of.find(text[k]);
    if (it == index_of.end()) it = index_of.emplace(text[k], vocab.stoi(preprocess(text[k]))).first;
    out[k] = it->second;
  }
  return nums;
}

torch::Tensor Field::numericalize(const ConcatTextDataset& ds) const {
  return torch::cat({numericalize(ds.text), torch::full({1}, vocab.stoi(kEos), torch::kInt64)});
}

}  // namespace charnn::torchtext
