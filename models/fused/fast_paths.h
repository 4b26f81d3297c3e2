#pragma once
// The fused layers as a model's fast path: the same forward as the model's cell, with its
// nn::RNN, nn::RNNCell loop, nn::GRU or nn::LSTM computed by the fused layer on the module's own
// parameters. The model files stay the notebook's cells; the fast path lives beside them, one
// function per model, and is held to them by tests/test_fused.cpp (outputs, every gradient, a
// 50-step trajectory). Parameters, state_dict and carried state are the model's, so a checkpoint
// does not know which path trained it.
#include <torch/torch.h>

#include "models/registry.h"

namespace charnn::fused {

// Replaces model.forward with the model's fused forward when it has one and the model computes
// in float32 on the CPU (the fused layers' only kind); returns whether it did. The plain forward
// is PyTorch's, bit for bit; the fused one equals it within 1e-6 relative.
bool use_fused_layers(LessonModel& model);

// Whether a model of this name has a fused forward.
bool has_fused_forward(std::string_view model);

}  // namespace charnn::fused
