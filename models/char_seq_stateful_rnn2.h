#pragma once
// Lesson 6, "RNN loop": the stateful model with nn.RNN taken apart into nn.RNNCell, called once
// per character in a loop, the outputs stacked.
#include <torch/torch.h>

#include <vector>

#include "models/stateful.h"
#include "models/linear.h"

namespace charnn {

struct CharSeqStatefulRnn2Impl : torch::nn::Module, StatefulModel {
  CharSeqStatefulRnn2Impl(int64_t vocab_size, int64_t n_fac, int64_t bs, int64_t n_hidden = 256);
  // cs: [sl, bs]; returns [sl*bs, vocab_size] log-probabilities, time-major rows.
  torch::Tensor forward(const torch::Tensor& cs) override;
  void init_hidden(int64_t bs);

  void reset_state(int64_t bs) override { init_hidden(bs); }
  std::vector<torch::Tensor> state() const override { return {h}; }
  void set_state(const std::vector<torch::Tensor>& state) override;
  int64_t state_batch_dim() const override { return 0; }  // RNNCell's state is [bs, n_hidden]

  int64_t vocab_size;
  int64_t n_hidden;
  torch::nn::Embedding e{nullptr};
  torch::nn::RNNCell rnn{nullptr};
  Linear l_out{nullptr};  // Python's nn.Linear on a sequence (models/linear.h)
  // [bs, n_hidden]. The notebook's is [1, bs, n_hidden]: PyTorch 0.3's cell broadcast it, today's
  // cell rejects it; the arithmetic is the same, so the batch size sits in h.size(0) here.
  torch::Tensor h;
};
TORCH_MODULE(CharSeqStatefulRnn2);

}  // namespace charnn
