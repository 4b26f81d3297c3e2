#include "data/split.h"

#include <fmt/format.h>

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace charnn {

void NumpyRandomState::seed(uint32_t s) {
  mt_.seed(s);
  has_gauss_ = false;
  gauss_ = 0.0;
}

// std::mt19937's text form is its state: libstdc++ writes the 624 words, then the index of
// the next one, which is numpy's key and pos.
NumpyRandomState::State NumpyRandomState::state() const {
  std::stringstream text;
  text << mt_;
  State out;
  out.key.resize(std::mt19937::state_size);
  for (auto& word : out.key) text >> word;
  text >> out.pos;
  out.has_gauss = has_gauss_;
  out.gauss = gauss_;
  return out;
}

void NumpyRandomState::set_state(const State& state) {
  if (state.key.size() != std::mt19937::state_size || state.pos < 0 ||
      state.pos > static_cast<int64_t>(std::mt19937::state_size)) {
    throw std::invalid_argument(fmt::format("a numpy MT19937 state has 624 words and a position in [0, 624], got "
                                            "{} words and position {}", state.key.size(), state.pos));
  }
  std::stringstream text;
  for (const auto word : state.key) text << word << ' ';
  text << state.pos;
  text >> mt_;
  has_gauss_ = state.has_gauss;
  gauss_ = state.gauss;
}

uint64_t NumpyRandomState::interval(uint64_t max) {
  if (max == 0) return 0;
  uint64_t mask = max;
  for (int shift : {1, 2, 4, 8, 16, 32}) mask |= mask >> shift;
  if (max <= 0xFFFFFFFFull) {
    uint64_t v;
    do v = mt_() & mask; while (v > max);
    return v;
  }
  uint64_t v;
  do {
    const uint64_t hi = mt_();
    v = ((hi << 32) | mt_()) & mask;
  } while (v > max);
  return v;
}

torch::Tensor NumpyRandomState::permutation(int64_t n) {
  auto perm = torch::arange(n, torch::kInt64);
  auto* a = perm.data_ptr<int64_t>();
  for (int64_t i = n - 1; i >= 1; --i) {
    const auto j = static_cast<int64_t>(interval(static_cast<uint64_t>(i)));
    std::swap(a[i], a[j]);
  }
  return perm;
}

double NumpyRandomState::random() {
  const uint32_t a = mt_() >> 5;
  const uint32_t b = mt_() >> 6;
  return (a * 67108864.0 + b) / 9007199254740992.0;
}

double NumpyRandomState::normal(double loc, double scale) {
  if (has_gauss_) {
    has_gauss_ = false;
    return loc + scale * gauss_;
  }
  double x1, x2, r2;
  do {
    x1 = 2.0 * random() - 1.0;
    x2 = 2.0 * random() - 1.0;
    r2 = x1 * x1 + x2 * x2;
  } while (r2 >= 1.0 || r2 == 0.0);
  const double f = std::sqrt(-2.0 * std::log(r2) / r2);
  gauss_ = f * x1;
  has_gauss_ = true;
  return loc + scale * (f * x2);
}

torch::Tensor get_cv_idxs(int64_t n, int64_t cv_idx, double val_pct, uint32_t seed) {
  if (n < 0) throw std::invalid_argument(fmt::format("get_cv_idxs: n must be >= 0, got {}", n));
  NumpyRandomState rng(seed);
  const auto n_val = static_cast<int64_t>(val_pct * static_cast<double>(n));  // Python int() truncates
  const int64_t start = cv_idx * n_val;
  return rng.permutation(n).slice(0, start, start + n_val);
}

SplitIndices split_by_idx(const torch::Tensor& val_idxs, int64_t rows) {
  auto idx = val_idxs.to(torch::kInt64);
  if (idx.numel() > 0) {
    const auto lo = idx.min().item<int64_t>();
    const auto hi = idx.max().item<int64_t>();
    if (lo < -rows || hi >= rows) {
      throw std::out_of_range(
          fmt::format("validation index out of range [{}, {}) for {} rows", -rows, rows, rows));
    }
  }
  auto mask = torch::zeros({rows}, torch::kBool);
  mask.index_put_({torch::where(idx < 0, idx + rows, idx)}, true);
  return {torch::nonzero(mask).flatten(), torch::nonzero(~mask).flatten()};
}

torch::Tensor lesson_val_idxs(Layout layout, int64_t rows, int64_t cs) {
  switch (layout) {
    case Layout::ThreeChar: return torch::tensor({int64_t{-1}}, torch::kInt64);
    case Layout::Overlapping: return get_cv_idxs(rows);
    case Layout::Sequences: return get_cv_idxs(std::max<int64_t>(rows - cs - 1, 0));
    case Layout::LanguageModel:
      throw std::invalid_argument("the language-model layout splits the text by lines, not by validation rows");
  }
  throw std::logic_error("unknown layout");
}

}  // namespace charnn
