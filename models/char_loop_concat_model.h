#pragma once
// Lesson 6, CharLoopConcatModel: concatenate (h, e(c)) instead of adding them.
#include <torch/torch.h>

#include "models/window_recurrence.h"

namespace charnn {

struct CharLoopConcatModelImpl : torch::nn::Module {
  CharLoopConcatModelImpl(int64_t vocab_size, int64_t n_fac, int64_t n_hidden = 256);
  // cs: [seq, bs], one row per character position.
  torch::Tensor forward(const torch::Tensor& cs);
  WindowRecurrence window_recurrence() const;

  int64_t n_hidden;
  torch::nn::Embedding e{nullptr};
  torch::nn::Linear l_in{nullptr};
  torch::nn::Linear l_hidden{nullptr};
  torch::nn::Linear l_out{nullptr};
};
TORCH_MODULE(CharLoopConcatModel);

}  // namespace charnn
