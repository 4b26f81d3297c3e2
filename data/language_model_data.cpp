#include "data/language_model_data.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <utility>

namespace charnn {

TextFiles split_lines(std::u32string_view text, int64_t trn_lines, std::string_view name) {
  if (trn_lines < 1) throw InputError(fmt::format("{}: the training part needs at least 1 line, got {}", name, trn_lines));
  TextFiles files;
  int64_t newlines = 0;
  char32_t last = U'\n';
  for (size_t k = 0; k < text.size(); ++k) {
    last = text[k];
    if (last == U'\r') {
      last = U'\n';
      if (k + 1 < text.size() && text[k + 1] == U'\n') ++k;
    }
    (newlines < trn_lines ? files.trn : files.val).push_back(last);
    if (last == U'\n') ++newlines;
  }
  const int64_t lines = newlines + (last == U'\n' ? 0 : 1);
  if (files.val.empty()) {
    throw InputError(fmt::format("{}: {} line(s), but the training part takes the first {} and the validation "
                                 "part needs at least one more", name, lines, trn_lines));
  }
  files.trn_name = fmt::format("{} lines 1-{} (training)", name, trn_lines);
  files.val_name = fmt::format("{} lines {}-{} (validation)", name, trn_lines + 1, lines);
  return files;
}

int64_t count_lines(std::u32string_view text) {
  int64_t lines = 0;
  for (size_t k = 0; k < text.size(); ++k) {
    if (text[k] == U'\n' || (text[k] == U'\r' && (k + 1 == text.size() || text[k + 1] != U'\n'))) ++lines;
  }
  return lines + (text.empty() || text.back() == U'\n' || text.back() == U'\r' ? 0 : 1);
}

int64_t training_lines(std::u32string_view text, int64_t asked, std::string_view name) {
  const int64_t lines = count_lines(text);
  if (lines < 2) {
    throw InputError(fmt::format("{}: {} line(s); the stateful models train on the first lines of the text and "
                                 "validate on the rest, so it needs at least 2 (and enough characters for a batch "
                                 "in each part)",
                                 name, lines));
  }
  if (asked > 0) return asked;
  return lines > kLessonTrnLines ? kLessonTrnLines : std::max<int64_t>(1, lines * 4 / 5);
}

torch::Tensor batchify(const torch::Tensor& nums, int64_t bs) {
  const int64_t nb = nums.size(0) / bs;
  return nums.slice(0, 0, nb * bs).view({bs, nb}).t().contiguous();
}

LanguageModelLoader::LanguageModelLoader(const torch::Tensor& nums, int64_t bs, int64_t bptt,
                                         std::shared_ptr<NumpyRandomState> np_random, std::string_view name)
    : bptt_(bptt), np_random_(std::move(np_random)) {
  if (bs < 1) throw InputError(fmt::format("{}: bs must be >= 1, got {}", name, bs));
  if (bptt < 1) throw InputError(fmt::format("{}: bptt must be >= 1, got {}", name, bptt));
  data_ = batchify(nums, bs);
  n_ = data_.size(0);
  if (size() < 1) {
    throw InputError(fmt::format("{}: {} tokens make {} row(s) of bs {}, too short for one batch: bptt {} needs at "
                                 "least {} rows ({} tokens)", name, nums.size(0), n_, bs, bptt, 2 * bptt, 2 * bptt * bs));
  }
}

std::optional<LmBatch> LanguageModelLoader::next() {
  if (i_ >= n_ - 1 || iter_ >= size()) return std::nullopt;
  const double b = np_random_->random() < 0.95 ? static_cast<double>(bptt_) : bptt_ / 2.0;
  const auto sl = std::max<int64_t>(5, static_cast<int64_t>(std::trunc(np_random_->normal(b, 5.0))));
  const int64_t used = std::min(sl, n_ - 1 - i_);
  LmBatch batch{data_.slice(0, i_, i_ + used), data_.slice(0, i_ + 1, i_ + 1 + used).view(-1)};
  i_ += sl;
  ++iter_;
  return batch;
}

LanguageModelData from_text_files(TextFiles files, std::shared_ptr<NumpyRandomState> np_random, int64_t bs,
                                  int64_t bptt, int64_t min_freq) {
  torchtext::Field field(/*lower=*/true);
  torchtext::ConcatTextDataset trn_ds{std::move(files.trn)}, val_ds{std::move(files.val)};
  field.build_vocab(trn_ds, min_freq);
  LanguageModelLoader trn_dl(field.numericalize(trn_ds), bs, bptt, np_random, files.trn_name);
  LanguageModelLoader val_dl(field.numericalize(val_ds), bs, bptt, np_random, files.val_name);
  const int64_t nt = field.vocab.size();
  const int64_t pad_idx = field.vocab.stoi(torchtext::kPad);
  return {std::move(field), std::move(trn_ds), std::move(val_ds), nt, pad_idx, std::move(np_random),
          std::move(trn_dl), std::move(val_dl)};
}

}  // namespace charnn
