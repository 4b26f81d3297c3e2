#include "models/char_rnn.h"

namespace charnn {

CharRnnImpl::CharRnnImpl(int64_t vocab_size, int64_t n_fac, int64_t n_hidden)
    : n_hidden(n_hidden),
      e(register_module("e", torch::nn::Embedding(vocab_size, n_fac))),
      rnn(register_module("rnn", torch::nn::RNN(torch::nn::RNNOptions(n_fac, n_hidden)))),
      l_out(register_module("l_out", torch::nn::Linear(n_hidden, vocab_size))) {}

torch::Tensor CharRnnImpl::forward(const torch::Tensor& cs) {
  const auto bs = cs.size(1);
  auto h = torch::zeros({1, bs, n_hidden}, e->weight.options());
  auto inp = e(cs);
  auto [outp, h_n] = rnn(inp, h);

  return torch::log_softmax(l_out(outp[-1]), -1);
}

void CharRnnImpl::identity_init() { copy_identity_into_weight_hh(rnn); }

void copy_identity_into_weight_hh(torch::nn::RNN& rnn) {
  torch::NoGradGuard no_grad;
  auto weight_hh = rnn->named_parameters()["weight_hh_l0"];
  weight_hh.copy_(torch::eye(weight_hh.size(0), weight_hh.options()));
}

WindowRecurrence CharRnnImpl::window_recurrence() const { return rnn_recurrence(e, rnn, *l_out); }

WindowRecurrence rnn_recurrence(const torch::nn::Embedding& e, const torch::nn::RNN& rnn,
                                const torch::nn::LinearImpl& l_out) {
  torch::NoGradGuard no_grad;
  auto p = rnn->named_parameters();
  RecurrenceLayer step{p["weight_hh_l0"], {}, RecurrenceLayer::CharTerm::AfterProduct,
                       RecurrenceLayer::Activation::Tanh};
  return {torch::addmm(p["bias_ih_l0"] + p["bias_hh_l0"], e->weight, p["weight_ih_l0"].t()), {step}, l_out.weight,
          l_out.bias};
}

}  // namespace charnn
