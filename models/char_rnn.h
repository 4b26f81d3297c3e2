#pragma once
// Lesson 6, "RNN with pytorch": the loop handed to nn.RNN; predicts from the last step.
#include <torch/torch.h>

#include "models/window_recurrence.h"

namespace charnn {

struct CharRnnImpl : torch::nn::Module {
  CharRnnImpl(int64_t vocab_size, int64_t n_fac, int64_t n_hidden = 256);
  // cs: [seq, bs]; returns [bs, vocab_size] log-probabilities of the next character.
  torch::Tensor forward(const torch::Tensor& cs);
  WindowRecurrence window_recurrence() const;
  // "Identity init!": weight_hh_l0 <- eye(n_hidden).
  void identity_init();

  int64_t n_hidden;
  torch::nn::Embedding e{nullptr};
  torch::nn::RNN rnn{nullptr};
  torch::nn::Linear l_out{nullptr};
};
TORCH_MODULE(CharRnn);

// Shared by CharRnn and CharSeqRnn: copy eye(n) into the RNN's hidden-to-hidden weight.
void copy_identity_into_weight_hh(torch::nn::RNN& rnn);
// Shared by CharRnn and CharSeqRnn: nn.RNN's step h = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)
// over x = e(c).
WindowRecurrence rnn_recurrence(const torch::nn::Embedding& e, const torch::nn::RNN& rnn,
                                const torch::nn::LinearImpl& l_out);

}  // namespace charnn
