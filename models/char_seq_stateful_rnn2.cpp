#include "models/char_seq_stateful_rnn2.h"

namespace charnn {

CharSeqStatefulRnn2Impl::CharSeqStatefulRnn2Impl(int64_t vocab_size, int64_t n_fac, int64_t bs, int64_t n_hidden)
    : vocab_size(vocab_size),
      n_hidden(n_hidden),
      e(register_module("e", torch::nn::Embedding(vocab_size, n_fac))),
      rnn(register_module("rnn", torch::nn::RNNCell(torch::nn::RNNCellOptions(n_fac, n_hidden)))),
      l_out(register_module("l_out", Linear(n_hidden, vocab_size))) {
  init_hidden(bs);
}

torch::Tensor CharSeqStatefulRnn2Impl::forward(const torch::Tensor& cs) {
  const auto bs = cs[0].size(0);
  if (h.size(0) != bs) init_hidden(bs);
  std::vector<torch::Tensor> outp;
  auto o = h;
  for (const auto& c : cs.unbind(0)) {
    o = rnn(e(c), o);
    outp.push_back(o);
  }
  auto out = l_out(torch::stack(outp));
  h = repackage_var(o);
  return torch::log_softmax(out, -1).view({-1, vocab_size});
}

void CharSeqStatefulRnn2Impl::init_hidden(int64_t bs) { h = torch::zeros({bs, n_hidden}, e->weight.options()); }

void CharSeqStatefulRnn2Impl::set_state(const std::vector<torch::Tensor>& state) {
  check_state("CharSeqStatefulRnn2", state, {{-1, n_hidden}});
  h = repackage_var(state[0]);
}

}  // namespace charnn
