#include "models/char_loop_concat_model.h"

namespace charnn {

CharLoopConcatModelImpl::CharLoopConcatModelImpl(int64_t vocab_size, int64_t n_fac, int64_t n_hidden)
    : n_hidden(n_hidden),
      e(register_module("e", torch::nn::Embedding(vocab_size, n_fac))),
      l_in(register_module("l_in", torch::nn::Linear(n_fac + n_hidden, n_hidden))),
      l_hidden(register_module("l_hidden", torch::nn::Linear(n_hidden, n_hidden))),
      l_out(register_module("l_out", torch::nn::Linear(n_hidden, vocab_size))) {}

torch::Tensor CharLoopConcatModelImpl::forward(const torch::Tensor& cs) {
  const auto bs = cs.size(1);
  auto h = torch::zeros({bs, n_hidden}, e->weight.options());
  for (const auto& c : cs.unbind(0)) {
    auto inp = torch::cat({h, e(c)}, 1);
    inp = torch::relu(l_in(inp));
    h = torch::tanh(l_hidden(inp));
  }

  return torch::log_softmax(l_out(h), -1);
}

// l_in reads cat(h, e(c)): its weight splits into the columns that multiply h and those that
// multiply e(c); the latter, with l_in's bias, are the character's term.
WindowRecurrence CharLoopConcatModelImpl::window_recurrence() const {
  torch::NoGradGuard no_grad;
  const auto w_in = l_in->weight;
  const auto char_term = torch::addmm(l_in->bias, e->weight, w_in.narrow(1, n_hidden, w_in.size(1) - n_hidden).t());
  RecurrenceLayer in{w_in.narrow(1, 0, n_hidden), {}, RecurrenceLayer::CharTerm::AfterProduct,
                     RecurrenceLayer::Activation::Relu};
  RecurrenceLayer hidden{l_hidden->weight, l_hidden->bias, RecurrenceLayer::CharTerm::None,
                         RecurrenceLayer::Activation::Tanh};
  return {char_term, {in, hidden}, l_out->weight, l_out->bias};
}

}  // namespace charnn
