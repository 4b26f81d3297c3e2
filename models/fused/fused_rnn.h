#pragma once
// nn::RNN (tanh) as one fused autograd function per layer: what the module's forward returns,
// and gradients in the module's own parameters' .grad, computed with fewer, larger products
// (models/fused/README.md).
#include <torch/torch.h>

#include <tuple>
#include <vector>

#include "models/fused/fused_common.h"

namespace charnn::fused {

// x [T, B, I]; h0 [L, B, H] (undefined: zeros); one LayerParams per layer. Returns (output
// [T, B, H], h_n [L, B, H]), as nn::RNN's forward. With train and dropout > 0, the output of
// every layer but the last goes through dropout as in ATen.
std::tuple<torch::Tensor, torch::Tensor> rnn_tanh(const torch::Tensor& x, const torch::Tensor& h0,
                                                  const std::vector<LayerParams>& layers, bool train, double dropout);

// The same on an nn::RNN's parameters, options (num_layers, dropout) and training flag. The
// module must be a tanh RNN with biases, not bidirectional, not batch_first.
std::tuple<torch::Tensor, torch::Tensor> rnn_tanh(const torch::nn::RNNImpl& rnn, const torch::Tensor& x,
                                                  const torch::Tensor& h0 = {});

}  // namespace charnn::fused
