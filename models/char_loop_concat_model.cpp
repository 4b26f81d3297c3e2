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

}  // namespace charnn
