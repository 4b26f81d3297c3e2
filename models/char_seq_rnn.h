#pragma once
// Lesson 6, "Multi-output model": the RNN predicts the next character at every step.
#include <torch/torch.h>

#include "models/window_recurrence.h"
#include "models/linear.h"

namespace charnn {

struct CharSeqRnnImpl : torch::nn::Module {
  CharSeqRnnImpl(int64_t vocab_size, int64_t n_fac, int64_t n_hidden = 256);
  // cs: [seq, bs]; returns [seq, bs, vocab_size] log-probabilities, one row per step.
  torch::Tensor forward(const torch::Tensor& cs);
  WindowRecurrence window_recurrence() const;
  // "Identity init!": weight_hh_l0 <- eye(n_hidden).
  void identity_init();

  int64_t n_hidden;
  torch::nn::Embedding e{nullptr};
  torch::nn::RNN rnn{nullptr};
  Linear l_out{nullptr};  // Python's nn.Linear on a sequence (models/linear.h)
};
TORCH_MODULE(CharSeqRnn);

}  // namespace charnn
