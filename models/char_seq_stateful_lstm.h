#pragma once
// Lesson 6, "Putting it all together: LSTM": the stateful model on a two-layer nn.LSTM with
// dropout between the layers; its state is the pair (h, c).
#include <torch/torch.h>

#include <tuple>
#include <vector>

#include "models/stateful.h"
#include "models/linear.h"

namespace charnn {

struct CharSeqStatefulLSTMImpl : torch::nn::Module, StatefulModel {
  // The notebook raises n_hidden to 512 for this model and calls it with nl = 2.
  CharSeqStatefulLSTMImpl(int64_t vocab_size, int64_t n_fac, int64_t bs, int64_t nl, int64_t n_hidden = 512,
                          double dropout = 0.5);
  // cs: [sl, bs]; returns [sl*bs, vocab_size] log-probabilities, time-major rows.
  torch::Tensor forward(const torch::Tensor& cs) override;
  void init_hidden(int64_t bs);

  void reset_state(int64_t bs) override { init_hidden(bs); }
  std::vector<torch::Tensor> state() const override { return {std::get<0>(h), std::get<1>(h)}; }
  void set_state(const std::vector<torch::Tensor>& state) override;

  int64_t vocab_size;
  int64_t nl;
  int64_t n_hidden;
  torch::nn::Embedding e{nullptr};
  torch::nn::LSTM rnn{nullptr};
  Linear l_out{nullptr};  // Python's nn.Linear on a sequence (models/linear.h)
  std::tuple<torch::Tensor, torch::Tensor> h;  // (h, c), each [nl, bs, n_hidden]
};
TORCH_MODULE(CharSeqStatefulLSTM);

}  // namespace charnn
