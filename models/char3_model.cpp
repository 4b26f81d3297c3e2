#include "models/char3_model.h"

namespace charnn {

Char3ModelImpl::Char3ModelImpl(int64_t vocab_size, int64_t n_fac, int64_t n_hidden)
    : e(register_module("e", torch::nn::Embedding(vocab_size, n_fac))),
      l_in(register_module("l_in", torch::nn::Linear(n_fac, n_hidden))),
      l_hidden(register_module("l_hidden", torch::nn::Linear(n_hidden, n_hidden))),
      l_out(register_module("l_out", torch::nn::Linear(n_hidden, vocab_size))) {}

torch::Tensor Char3ModelImpl::forward(const torch::Tensor& c1, const torch::Tensor& c2,
                                      const torch::Tensor& c3) {
  auto in1 = torch::relu(l_in(e(c1)));
  auto in2 = torch::relu(l_in(e(c2)));
  auto in3 = torch::relu(l_in(e(c3)));

  auto h = torch::zeros(in1.sizes(), in1.options());
  h = torch::tanh(l_hidden(h + in1));
  h = torch::tanh(l_hidden(h + in2));
  h = torch::tanh(l_hidden(h + in3));

  // PyTorch 0.3's F.log_softmax without dim picks dim 1 for a 2-D input.
  return torch::log_softmax(l_out(h), 1);
}

WindowRecurrence Char3ModelImpl::window_recurrence() const { return added_input_recurrence(e, l_in, l_hidden, l_out); }

WindowRecurrence added_input_recurrence(const torch::nn::Embedding& e, const torch::nn::Linear& l_in,
                                        const torch::nn::Linear& l_hidden, const torch::nn::Linear& l_out) {
  torch::NoGradGuard no_grad;
  RecurrenceLayer step{l_hidden->weight, l_hidden->bias, RecurrenceLayer::CharTerm::BeforeProduct,
                       RecurrenceLayer::Activation::Tanh};
  return {torch::relu(torch::nn::functional::linear(e->weight, l_in->weight, l_in->bias)), {step}, l_out->weight,
          l_out->bias};
}

}  // namespace charnn
