#include "models/char_loop_model.h"
#include "models/char3_model.h"

namespace charnn {

CharLoopModelImpl::CharLoopModelImpl(int64_t vocab_size, int64_t n_fac, int64_t n_hidden)
    : n_hidden(n_hidden),
      e(register_module("e", torch::nn::Embedding(vocab_size, n_fac))),
      l_in(register_module("l_in", torch::nn::Linear(n_fac, n_hidden))),
      l_hidden(register_module("l_hidden", torch::nn::Linear(n_hidden, n_hidden))),
      l_out(register_module("l_out", torch::nn::Linear(n_hidden, vocab_size))) {}

torch::Tensor CharLoopModelImpl::forward(const torch::Tensor& cs) {
  const auto bs = cs.size(1);
  auto h = torch::zeros({bs, n_hidden}, e->weight.options());
  for (const auto& c : cs.unbind(0)) {
    auto inp = torch::relu(l_in(e(c)));
    h = torch::tanh(l_hidden(h + inp));
  }

  return torch::log_softmax(l_out(h), -1);
}

WindowRecurrence CharLoopModelImpl::window_recurrence() const {
  return added_input_recurrence(e, l_in, l_hidden, l_out);
}

}  // namespace charnn
