#pragma once
// The optimizer, behind the one interface the run, the fit loop and the checkpoint share. The
// notebook's is Adam (LayerOptimizer(optim.Adam, m, lr, wd): one parameter group, coupled L2
// weight decay); another is a class in this room and a registry line, and every run directory,
// checkpoint and resume then works with it.
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace charnn {

// A parameter's or a group's state as Python's optimizer.state_dict() holds it: names to
// tensors and numbers (train_state.pt keys it by parameter name instead of index).
using OptimizerValues = c10::impl::GenericDict;
inline OptimizerValues optimizer_values() { return OptimizerValues(c10::StringType::get(), c10::AnyType::get()); }

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // step(), zero_grad() and the parameter groups.
  virtual torch::optim::Optimizer& torch() = 0;
  // The state of parameter p (empty before its first step, as in Python).
  virtual OptimizerValues parameter_state(const torch::Tensor& p) = 0;
  // Puts back what parameter_state gave. Throws InputError naming the missing or misshapen
  // entry (the caller adds the file and the parameter's name).
  virtual void set_parameter_state(const torch::Tensor& p, const OptimizerValues& state) = 0;
  // The group's hyper-parameters, as Python's param_groups hold them, without "params".
  virtual OptimizerValues group_options() = 0;
};

// The rate the next step applies (the first group's), and one rate for every group.
double current_lr(Optimizer& opt);
void set_lrs(Optimizer& opt, double lr);

struct OptimizerSpec {
  std::string_view name;  // config.json's "optimizer", the CLI's --optimizer
  std::function<std::unique_ptr<Optimizer>(std::vector<torch::Tensor> parameters, double lr, double weight_decay)>
      make;
};

const std::vector<OptimizerSpec>& optimizer_registry();
// Adds an optimizer after the built-in ones. Throws std::invalid_argument when the name is taken.
void register_optimizer(OptimizerSpec spec);
void unregister_optimizer(std::string_view name);
// Throws InputError naming the unknown optimizer and listing the known ones.
const OptimizerSpec& find_optimizer(std::string_view name);

}  // namespace charnn
