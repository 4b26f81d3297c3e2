#include "models/stateful.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <string>

#include "common/error.h"

namespace charnn {

namespace {

std::string describe(const torch::Tensor& t) {
  if (!t.defined()) return "no tensor";
  return fmt::format("{} [{}]", c10::toString(t.scalar_type()), fmt::join(t.sizes(), ", "));
}

}  // namespace

torch::Tensor repackage_var(const torch::Tensor& h) { return h.detach(); }

std::tuple<torch::Tensor, torch::Tensor> repackage_var(const std::tuple<torch::Tensor, torch::Tensor>& h) {
  return {std::get<0>(h).detach(), std::get<1>(h).detach()};
}

void check_state(std::string_view model, const std::vector<torch::Tensor>& state,
                 const std::vector<std::vector<int64_t>>& shapes) {
  std::vector<std::string> wanted;
  for (const auto& s : shapes) wanted.push_back(fmt::format("[{}]", fmt::join(s, ", ")));
  const auto expected = fmt::format("{} Float tensor(s) {} (-1: the batch size)", shapes.size(), fmt::join(wanted, ", "));
  if (state.size() != shapes.size()) {
    throw InputError(fmt::format("{}: the state must be {}, got {} tensor(s)", model, expected, state.size()));
  }
  int64_t bs = -1;
  for (size_t i = 0; i < state.size(); ++i) {
    const auto& t = state[i];
    bool ok = t.defined() && t.scalar_type() == torch::kFloat32 && t.dim() == static_cast<int64_t>(shapes[i].size());
    for (int64_t d = 0; ok && d < t.dim(); ++d) {
      const auto want = shapes[i][d];
      if (want == -1 && bs == -1) bs = t.size(d);
      ok = t.size(d) == (want == -1 ? bs : want);
    }
    if (!ok) {
      throw InputError(fmt::format("{}: the state must be {}; tensor {} is {}", model, expected, i, describe(t)));
    }
  }
}

}  // namespace charnn
