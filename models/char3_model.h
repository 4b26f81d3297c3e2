#pragma once
// Lesson 6, "Three char model": three characters in, the fourth out.
#include <torch/torch.h>

namespace charnn {

struct Char3ModelImpl : torch::nn::Module {
  Char3ModelImpl(int64_t vocab_size, int64_t n_fac, int64_t n_hidden = 256);
  torch::Tensor forward(const torch::Tensor& c1, const torch::Tensor& c2, const torch::Tensor& c3);

  torch::nn::Embedding e{nullptr};
  torch::nn::Linear l_in{nullptr};      // the 'green arrow': input to hidden
  torch::nn::Linear l_hidden{nullptr};  // the 'orange arrow': hidden to hidden
  torch::nn::Linear l_out{nullptr};     // the 'blue arrow': hidden to output
};
TORCH_MODULE(Char3Model);

}  // namespace charnn
