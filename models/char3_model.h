#pragma once
// Lesson 6, "Three char model": three characters in, the fourth out.
#include <torch/torch.h>

#include "models/window_recurrence.h"

namespace charnn {

struct Char3ModelImpl : torch::nn::Module {
  Char3ModelImpl(int64_t vocab_size, int64_t n_fac, int64_t n_hidden = 256);
  torch::Tensor forward(const torch::Tensor& c1, const torch::Tensor& c2, const torch::Tensor& c3);
  WindowRecurrence window_recurrence() const;

  torch::nn::Embedding e{nullptr};
  torch::nn::Linear l_in{nullptr};      // the 'green arrow': input to hidden
  torch::nn::Linear l_hidden{nullptr};  // the 'orange arrow': hidden to hidden
  torch::nn::Linear l_out{nullptr};     // the 'blue arrow': hidden to output
};
TORCH_MODULE(Char3Model);

// Shared by Char3Model and CharLoopModel, whose step is h = tanh(l_hidden(h + relu(l_in(e(c))))).
WindowRecurrence added_input_recurrence(const torch::nn::Embedding& e, const torch::nn::Linear& l_in,
                                        const torch::nn::Linear& l_hidden, const torch::nn::Linear& l_out);

}  // namespace charnn
