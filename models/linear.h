#pragma once
// Python's nn.Linear, for the models whose l_out reads a sequence (a 3-D input): F.linear(input,
// weight, bias) whatever the input's rank. LibTorch's nn::Linear multiplies a 3-D input and then
// adds the bias, where PyTorch folds the input into one addmm that adds it inside the product;
// the two round differently once the BLAS splits the inner dimension (OpenBLAS at n_hidden 512)
// or where it folds the bias in (MKL, in the pip wheel). Same parameters, same initialisation,
// same state_dict keys as nn::Linear.
#include <torch/torch.h>

namespace charnn {

struct LinearImpl : torch::nn::LinearImpl {
  using torch::nn::LinearImpl::LinearImpl;
  torch::Tensor forward(const torch::Tensor& input) { return torch::linear(input, weight, bias); }
};
TORCH_MODULE(Linear);

}  // namespace charnn
