#pragma once
// Lesson 6, "Our first RNN!": the three-char model as a loop over any number of characters.
#include <torch/torch.h>

#include "models/window_recurrence.h"

namespace charnn {

struct CharLoopModelImpl : torch::nn::Module {
  CharLoopModelImpl(int64_t vocab_size, int64_t n_fac, int64_t n_hidden = 256);
  // cs: [seq, bs], one row per character position (the notebook's *cs, stacked).
  torch::Tensor forward(const torch::Tensor& cs);
  WindowRecurrence window_recurrence() const;

  int64_t n_hidden;
  torch::nn::Embedding e{nullptr};
  torch::nn::Linear l_in{nullptr};
  torch::nn::Linear l_hidden{nullptr};
  torch::nn::Linear l_out{nullptr};
};
TORCH_MODULE(CharLoopModel);

}  // namespace charnn
