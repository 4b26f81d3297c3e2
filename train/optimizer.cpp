#include "train/optimizer.h"

#include <fmt/format.h>

#include <algorithm>

#include "common/error.h"
#include "train/adam.h"

namespace charnn {
namespace {

std::vector<OptimizerSpec>& registry() {
  static std::vector<OptimizerSpec> specs{adam_entry()};
  return specs;
}

}  // namespace

double current_lr(Optimizer& opt) { return opt.torch().param_groups().at(0).options().get_lr(); }

void set_lrs(Optimizer& opt, double lr) {
  for (auto& group : opt.torch().param_groups()) group.options().set_lr(lr);
}

const std::vector<OptimizerSpec>& optimizer_registry() { return registry(); }

void register_optimizer(OptimizerSpec spec) {
  for (const auto& known : registry()) {
    if (known.name == spec.name) throw std::invalid_argument(fmt::format("optimizer '{}' is registered", spec.name));
  }
  registry().push_back(std::move(spec));
}

void unregister_optimizer(std::string_view name) {
  auto& specs = registry();
  specs.erase(std::remove_if(specs.begin(), specs.end(), [&](const OptimizerSpec& s) { return s.name == name; }),
              specs.end());
}

const OptimizerSpec& find_optimizer(std::string_view name) {
  std::string known;
  for (const auto& spec : registry()) {
    if (spec.name == name) return spec;
    known += fmt::format("{}{}", known.empty() ? "" : ", ", spec.name);
  }
  throw InputError(fmt::format("unknown optimizer '{}' (known: {})", name, known));
}

}  // namespace charnn
