#pragma once
// Lesson 6, "GRU": the stateful model with nn.GRU in place of nn.RNN; gates decide how much of
// the state each step keeps.
#include <torch/torch.h>

#include <vector>

#include "models/stateful.h"
#include "models/linear.h"

namespace charnn {

struct CharSeqStatefulGRUImpl : torch::nn::Module, StatefulModel {
  CharSeqStatefulGRUImpl(int64_t vocab_size, int64_t n_fac, int64_t bs, int64_t n_hidden = 256);
  // cs: [sl, bs]; returns [sl*bs, vocab_size] log-probabilities, time-major rows.
  torch::Tensor forward(const torch::Tensor& cs) override;
  void init_hidden(int64_t bs);

  void reset_state(int64_t bs) override { init_hidden(bs); }
  std::vector<torch::Tensor> state() const override { return {h}; }
  void set_state(const std::vector<torch::Tensor>& state) override;

  int64_t vocab_size;
  int64_t n_hidden;
  torch::nn::Embedding e{nullptr};
  torch::nn::GRU rnn{nullptr};
  Linear l_out{nullptr};  // Python's nn.Linear on a sequence (models/linear.h)
  torch::Tensor h;  // [1, bs, n_hidden]
};
TORCH_MODULE(CharSeqStatefulGRU);

}  // namespace charnn
