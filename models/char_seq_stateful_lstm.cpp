#include "models/char_seq_stateful_lstm.h"

namespace charnn {

CharSeqStatefulLSTMImpl::CharSeqStatefulLSTMImpl(int64_t vocab_size, int64_t n_fac, int64_t bs, int64_t nl,
                                                 int64_t n_hidden, double dropout)
    : vocab_size(vocab_size),
      nl(nl),
      n_hidden(n_hidden),
      e(register_module("e", torch::nn::Embedding(vocab_size, n_fac))),
      rnn(register_module("rnn",
                          torch::nn::LSTM(torch::nn::LSTMOptions(n_fac, n_hidden).num_layers(nl).dropout(dropout)))),
      l_out(register_module("l_out", Linear(n_hidden, vocab_size))) {
  init_hidden(bs);
}

torch::Tensor CharSeqStatefulLSTMImpl::forward(const torch::Tensor& cs) {
  const auto bs = cs[0].size(0);
  if (std::get<0>(h).size(1) != bs) init_hidden(bs);
  auto [outp, new_h] = rnn(e(cs), h);
  h = repackage_var(new_h);
  return torch::log_softmax(l_out(outp), -1).view({-1, vocab_size});
}

void CharSeqStatefulLSTMImpl::init_hidden(int64_t bs) {
  h = {torch::zeros({nl, bs, n_hidden}, e->weight.options()), torch::zeros({nl, bs, n_hidden}, e->weight.options())};
}

void CharSeqStatefulLSTMImpl::set_state(const std::vector<torch::Tensor>& state) {
  check_state("CharSeqStatefulLSTM", state, {{nl, -1, n_hidden}, {nl, -1, n_hidden}});
  h = repackage_var(std::tuple<torch::Tensor, torch::Tensor>{state[0], state[1]});
}

}  // namespace charnn
