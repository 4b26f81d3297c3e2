#pragma once
// nn::LSTM as one fused autograd function per layer: what the module's forward returns, and
// gradients in the module's own parameters' .grad (models/fused/README.md).
#include <torch/torch.h>

#include <tuple>
#include <vector>

#include "models/fused/fused_common.h"

namespace charnn::fused {

// x [T, B, I]; hx = (h0, c0), each [L, B, H] (undefined: zeros); one LayerParams per layer.
// Returns (output [T, B, H], (h_n, c_n) [L, B, H]), as nn::LSTM's forward, gates i, f, g, o.
// With train and dropout > 0, the output of every layer but the last goes through dropout as in
// ATen.
std::tuple<torch::Tensor, std::tuple<torch::Tensor, torch::Tensor>> lstm(
    const torch::Tensor& x, const std::tuple<torch::Tensor, torch::Tensor>& hx, const std::vector<LayerParams>& layers,
    bool train, double dropout);

// The same on an nn::LSTM's parameters, options and training flag (biases, no projection, not
// bidirectional, not batch_first).
std::tuple<torch::Tensor, std::tuple<torch::Tensor, torch::Tensor>> lstm(
    const torch::nn::LSTMImpl& lstm, const torch::Tensor& x, const std::tuple<torch::Tensor, torch::Tensor>& hx = {});

}  // namespace charnn::fused
