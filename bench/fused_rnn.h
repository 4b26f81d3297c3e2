#pragma once
// A measured proposal, not used by the models: a single-layer tanh RNN whose backward does
// the weight gradients as one matrix product over all steps, instead of the per-step
// products and accumulations that autograd records through at::rnn_tanh.
// The bench runs it as "char-rnn+fused" / "char-seq-rnn+fused" beside the lesson models.
#include <torch/torch.h>

namespace charnn::bench {

// x [cs, B, n_in], h0 [1, B, H]; weights as torch::nn::RNN holds them. Returns the outputs
// [cs, B, H], equal to torch::nn::RNN's first output.
torch::Tensor fused_rnn_tanh(const torch::Tensor& x, const torch::Tensor& h0, const torch::Tensor& w_ih,
                             const torch::Tensor& w_hh, const torch::Tensor& b_ih, const torch::Tensor& b_hh);

}  // namespace charnn::bench
