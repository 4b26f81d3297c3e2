#include "models/char_seq_rnn.h"

#include "models/char_rnn.h"

namespace charnn {

CharSeqRnnImpl::CharSeqRnnImpl(int64_t vocab_size, int64_t n_fac, int64_t n_hidden)
    : n_hidden(n_hidden),
      e(register_module("e", torch::nn::Embedding(vocab_size, n_fac))),
      rnn(register_module("rnn", torch::nn::RNN(torch::nn::RNNOptions(n_fac, n_hidden)))),
      l_out(register_module("l_out", Linear(n_hidden, vocab_size))) {}

torch::Tensor CharSeqRnnImpl::forward(const torch::Tensor& cs) {
  const auto bs = cs.size(1);
  auto h = torch::zeros({1, bs, n_hidden}, e->weight.options());
  auto inp = e(cs);
  auto [outp, h_n] = rnn(inp, h);
  return torch::log_softmax(l_out(outp), -1);
}

void CharSeqRnnImpl::identity_init() { copy_identity_into_weight_hh(rnn); }

WindowRecurrence CharSeqRnnImpl::window_recurrence() const { return rnn_recurrence(e, rnn, *l_out); }

}  // namespace charnn
