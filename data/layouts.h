#pragma once
// The notebook's three ways of cutting `idx` into training rows, with its exact ranges
// and trims. Each is a strided view of idx made contiguous: no per-row Python-style loops.
#include <torch/torch.h>

#include <string_view>

#include "data/corpus.h"

namespace charnn {

enum class Layout {
  ThreeChar,    // "Three char model": every cs-th start, c1..c_cs -> c_{cs+1}, then [:-2]
  Overlapping,  // "Our first RNN!": every start j < len-cs-1, idx[j:j+cs] -> idx[j+cs]
  Sequences,    // "Multi-output model": non-overlapping idx[j:j+cs] -> idx[j+1:j+cs+1]
  // "Stateful model" onwards: not windows but LanguageModelData's batchified columns, read in
  // runs of a random length around bptt (data/language_model_data.h); make_windows refuses it.
  LanguageModel,
};

std::string_view layout_name(Layout layout);
int64_t default_window(Layout layout);  // 3 for ThreeChar, 8 otherwise (the lesson's cs; bptt for LanguageModel)

struct Windows {
  torch::Tensor xs;  // [N, cs] int64
  torch::Tensor y;   // [N] int64, or [N, cs] for Sequences
  int64_t rows() const { return xs.size(0); }
};

Windows three_char_windows(const torch::Tensor& idx, int64_t cs = 3);
Windows overlapping_windows(const torch::Tensor& idx, int64_t cs = 8);
Windows sequence_windows(const torch::Tensor& idx, int64_t cs = 8);

// Dispatches on the layout; an InputError names the corpus when the text is too short
// to give even one window.
Windows make_windows(const Corpus& corpus, Layout layout, int64_t cs);

}  // namespace charnn
