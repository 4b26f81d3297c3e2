#include "data/layouts.h"

#include <fmt/format.h>

#include <stdexcept>

namespace charnn {
namespace {

using torch::indexing::Slice;

int64_t range_len(int64_t start, int64_t stop, int64_t step) {
  return stop > start ? (stop - start + step - 1) / step : 0;
}

void check_window(int64_t cs) {
  if (cs < 1) throw std::invalid_argument(fmt::format("window length must be >= 1, got {}", cs));
}

}  // namespace

std::string_view layout_name(Layout layout) {
  switch (layout) {
    case Layout::ThreeChar: return "three-char";
    case Layout::Overlapping: return "overlapping";
    case Layout::Sequences: return "sequences";
    case Layout::LanguageModel: return "language-model";
  }
  return "?";
}

int64_t default_window(Layout layout) { return layout == Layout::ThreeChar ? 3 : 8; }

Windows three_char_windows(const torch::Tensor& idx, int64_t cs) {
  check_window(cs);
  // c_k_dat = [idx[i+k] for i in range(0, len(idx)-1-cs, cs)], then x_k = c_k_dat[:-2]
  const int64_t starts = range_len(0, idx.size(0) - 1 - cs, cs);
  const int64_t n = std::max<int64_t>(starts - 2, 0);
  if (n == 0) return {torch::empty({0, cs}, torch::kInt64), torch::empty({0}, torch::kInt64)};
  auto windows = idx.unfold(0, cs + 1, cs).slice(0, 0, n);
  return {windows.slice(1, 0, cs).contiguous(), windows.select(1, cs).contiguous()};
}

Windows overlapping_windows(const torch::Tensor& idx, int64_t cs) {
  check_window(cs);
  // c_in_dat = [[idx[i+j] for i in range(cs)] for j in range(len(idx)-cs-1)]
  const int64_t n = std::max<int64_t>(idx.size(0) - cs - 1, 0);
  if (n == 0) return {torch::empty({0, cs}, torch::kInt64), torch::empty({0}, torch::kInt64)};
  return {idx.unfold(0, cs, 1).slice(0, 0, n).contiguous(), idx.slice(0, cs, cs + n).clone()};
}

Windows sequence_windows(const torch::Tensor& idx, int64_t cs) {
  check_window(cs);
  // c_in_dat  = [[idx[i+j] for i in range(cs)] for j in range(0, len(idx)-cs-1, cs)]
  // c_out_dat = [[idx[i+j] for i in range(cs)] for j in range(1, len(idx)-cs, cs)]
  const int64_t n = range_len(0, idx.size(0) - cs - 1, cs);
  if (n == 0) return {torch::empty({0, cs}, torch::kInt64), torch::empty({0, cs}, torch::kInt64)};
  auto xs = idx.slice(0, 0, n * cs).view({n, cs}).clone();
  auto ys = idx.slice(0, 1, n * cs + 1).view({n, cs}).clone();
  return {xs, ys};
}

Windows make_windows(const Corpus& corpus, Layout layout, int64_t cs) {
  Windows w;
  switch (layout) {
    case Layout::ThreeChar: w = three_char_windows(corpus.idx, cs); break;
    case Layout::Overlapping: w = overlapping_windows(corpus.idx, cs); break;
    case Layout::Sequences: w = sequence_windows(corpus.idx, cs); break;
    case Layout::LanguageModel:
      throw std::invalid_argument("the language-model layout is LanguageModelData's, not windows of the corpus");
  }
  if (w.rows() < 1) {
    throw InputError(fmt::format(
        "{}: text of {} characters is too short for one {} window of {} characters",
        corpus.name, corpus.length(), layout_name(layout), cs));
  }
  return w;
}

}  // namespace charnn
