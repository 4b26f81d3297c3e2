#pragma once
// The notebook's optimizer, torch.optim.Adam (coupled L2 weight decay), with LibTorch's update
// bit for bit but in two passes over each parameter instead of nine.
//
// torch::optim::Adam::step runs nine element-wise ops per parameter (add, mul_, add_, mul_,
// addcmul_, sqrt, div, add_, addcdiv_), each a pass over memory and three of them a new tensor:
// for the LSTM's 3.3 M parameters, an eighth of a training step. Here one pass updates both
// moments, the square root stays ATen's (Sleef's rounding in some builds), and a second pass the
// parameter, each element getting the same float operations in the same order.
//
// Whether ATen fuses a multiply and an add into one rounding depends on its build and the CPU
// (the AVX2 and AVX-512 kernels of both LibTorch versions do, the default ones do not), so the
// first step of a process runs both ways on a test vector against torch::optim::Adam itself and
// keeps the one that matches bit for bit. When neither does (another CPU, another build), or for
// amsgrad or any parameter that is not a contiguous float tensor on the CPU, step() is
// torch::optim::Adam's. The state is torch::optim::Adam's, so checkpoints do not change.
#include <torch/torch.h>

#include <string>
#include <type_traits>

#include "train/optimizer.h"

namespace charnn {

// The optimizer's state map is keyed by the parameter's TensorImpl: as a pointer printed to a
// string up to LibTorch 2.1, as the pointer itself since. Both through the public state().
using OptimizerStateKey = std::decay_t<decltype(std::declval<torch::optim::Optimizer&>().state())>::key_type;
OptimizerStateKey optimizer_state_key(const torch::Tensor& p);

enum class AdamKernel {
  aten,         // torch::optim::Adam::step, op by op
  fused_fma,    // two passes, multiply-adds rounded once (as ATen's vectorised kernels)
  fused_plain,  // two passes, every product rounded (as ATen's default kernels)
};
std::string to_string(AdamKernel kernel);

class Adam : public torch::optim::Adam {
 public:
  using torch::optim::Adam::Adam;
  torch::Tensor step(LossClosure closure = nullptr) override;

  // What step() runs on this machine and build, found on first use (CHARNN_ADAM_KERNEL=aten
  // forces LibTorch's step, for measurements).
  static AdamKernel kernel();
};

// The registry's "adam": charnn::Adam behind the Optimizer interface. A parameter's state is
// Python's {"step", "exp_avg", "exp_avg_sq"}; the group's {"lr", "betas", "eps",
// "weight_decay", "amsgrad"}.
OptimizerSpec adam_entry();

}  // namespace charnn
