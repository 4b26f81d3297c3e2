#include "models/char_seq_stateful_rnn.h"

namespace charnn {

CharSeqStatefulRnnImpl::CharSeqStatefulRnnImpl(int64_t vocab_size, int64_t n_fac, int64_t bs, int64_t n_hidden)
    : vocab_size(vocab_size),
      n_hidden(n_hidden),
      e(register_module("e", torch::nn::Embedding(vocab_size, n_fac))),
      rnn(register_module("rnn", torch::nn::RNN(torch::nn::RNNOptions(n_fac, n_hidden)))),
      l_out(register_module("l_out", Linear(n_hidden, vocab_size))) {
  init_hidden(bs);
}

torch::Tensor CharSeqStatefulRnnImpl::forward(const torch::Tensor& cs) {
  const auto bs = cs[0].size(0);
  if (h.size(1) != bs) init_hidden(bs);
  auto [outp, new_h] = rnn(e(cs), h);
  h = repackage_var(new_h);
  return torch::log_softmax(l_out(outp), -1).view({-1, vocab_size});
}

void CharSeqStatefulRnnImpl::init_hidden(int64_t bs) { h = torch::zeros({1, bs, n_hidden}, e->weight.options()); }

void CharSeqStatefulRnnImpl::set_state(const std::vector<torch::Tensor>& state) {
  check_state("CharSeqStatefulRnn", state, {{1, -1, n_hidden}});
  h = repackage_var(state[0]);
}

}  // namespace charnn
