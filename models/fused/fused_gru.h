#pragma once
// nn::GRU as one fused autograd function per layer: what the module's forward returns, and
// gradients in the module's own parameters' .grad (models/fused/README.md).
#include <torch/torch.h>

#include <tuple>
#include <vector>

#include "models/fused/fused_common.h"

namespace charnn::fused {

// x [T, B, I]; h0 [L, B, H] (undefined: zeros); one LayerParams per layer. Returns (output
// [T, B, H], h_n [L, B, H]), as nn::GRU's forward: r = sigmoid(W_ir x + b_ir + W_hr h + b_hr),
// z likewise, n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), h' = (1 - z) * n + z * h. With
// train and dropout > 0, the output of every layer but the last goes through dropout as in ATen.
std::tuple<torch::Tensor, torch::Tensor> gru(const torch::Tensor& x, const torch::Tensor& h0,
                                             const std::vector<LayerParams>& layers, bool train, double dropout);

// The same on an nn::GRU's parameters, options and training flag (biases, not bidirectional,
// not batch_first).
std::tuple<torch::Tensor, torch::Tensor> gru(const torch::nn::GRUImpl& gru, const torch::Tensor& x,
                                             const torch::Tensor& h0 = {});

}  // namespace charnn::fused
