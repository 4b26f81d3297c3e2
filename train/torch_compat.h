// The LibTorch calls whose form differs between the versions charnn builds against: Debian's
// 1.13 and the 2.x of the pip wheel or a pytorch.org download. Every version test is here.
#pragma once

#include <torch/torch.h>

#include <type_traits>
#include <utility>

namespace charnn {

// How Optimizer::state() keys a parameter's state (moments, step count).
using OptimizerStateKey =
    std::decay_t<decltype(std::declval<torch::optim::Optimizer&>().state())>::key_type;

// The key of parameter p in Optimizer::state(): its TensorImpl's address, printed up to
// LibTorch 2.1 and the address itself since.
OptimizerStateKey optimizer_state_key(const torch::Tensor& p);

}  // namespace charnn
