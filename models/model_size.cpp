#include "models/model_size.h"

#include <fmt/format.h>

#include <ATen/CPUGeneratorImpl.h>

#include <array>
#include <cmath>
#include <mutex>

#include "common/error.h"
#include "common/limits.h"

namespace charnn {
namespace {

constexpr int kProbe = 3;  // sizes 1, 2, 3 in each dimension: enough for degree 2
using Grid = std::array<std::array<std::array<double, kProbe>, kProbe>, kProbe>;

double count_parameters(const LessonModel& model) {
  double n = 0;
  for (const auto& p : model.module->parameters()) n += static_cast<double>(p.numel());
  return n;
}

// The tiny instances' counts, indexed [vocab-1][n_fac-1][n_hidden-1].
Grid probe(const ModelConfig& config) {
  auto generator = at::detail::getDefaultCPUGenerator();
  // Not held while the models are built: their initialisers lock the generator themselves.
  const auto state = [&] {
    const std::lock_guard<std::mutex> lock(generator.mutex());
    return generator.get_state();
  }();
  Grid counts{};
  for (int v = 0; v < kProbe; ++v) {
    for (int f = 0; f < kProbe; ++f) {
      for (int h = 0; h < kProbe; ++h) {
        auto tiny = config;
        tiny.vocab_size = v + 1;
        tiny.n_fac = f + 1;
        tiny.n_hidden = h + 1;
        tiny.bs = 1;
        tiny.identity_init = false;
        counts[v][f][h] = count_parameters(find_model(config.model).make(tiny));
      }
    }
  }
  const std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_state(state);
  return counts;
}

// Coefficients c[i][j][k] of v^i f^j h^k from the values at 1..3: the inverse of the Vandermonde
// matrix of (1, 2, 3), applied along each axis.
Grid coefficients(const Grid& values) {
  static constexpr double kInverse[kProbe][kProbe] = {{3, -3, 1}, {-2.5, 4, -1.5}, {0.5, -1, 0.5}};
  Grid a = values, b{};
  for (int axis = 0; axis < 3; ++axis) {
    b = Grid{};
    for (int i = 0; i < kProbe; ++i)
      for (int j = 0; j < kProbe; ++j)
        for (int k = 0; k < kProbe; ++k)
          for (int m = 0; m < kProbe; ++m) {
            const double value = axis == 0 ? a[m][j][k] : axis == 1 ? a[i][m][k] : a[i][j][m];
            const int out = axis == 0 ? i : axis == 1 ? j : k;
            b[i][j][k] += kInverse[out][m] * value;
          }
    a = b;
  }
  return a;
}

double evaluate(const Grid& c, double v, double f, double h) {
  double total = 0;
  for (int i = 0; i < kProbe; ++i)
    for (int j = 0; j < kProbe; ++j)
      for (int k = 0; k < kProbe; ++k) total += c[i][j][k] * std::pow(v, i) * std::pow(f, j) * std::pow(h, k);
  return total;
}

struct Estimate {
  double parameters;
  double hidden_vectors;  // the n_hidden-sized bias vectors: the gates' count, per layer and step
};

Estimate estimate(const ModelConfig& config) {
  const auto c = coefficients(probe(config));
  return {evaluate(c, static_cast<double>(config.vocab_size), static_cast<double>(config.n_fac),
                   static_cast<double>(config.n_hidden)),
          std::max(1.0, c[0][0][1])};
}

}  // namespace

double parameter_count(const ModelConfig& config) { return estimate(config).parameters; }

void check_model_fits(const ModelConfig& config, int64_t window, int64_t bs, const std::string& source) {
  // Doubles throughout, so that no product of huge sizes can wrap.
  const auto [parameters, hidden_vectors] = estimate(config);
  const double hidden = static_cast<double>(config.n_hidden) * hidden_vectors;
  const double row = static_cast<double>(config.n_fac) + static_cast<double>(config.vocab_size) + hidden;
  // Every step of every row keeps its vectors for backward, and backward makes as many again.
  const double activations = 2 * static_cast<double>(bs) * static_cast<double>(window) * row;
  const double state = static_cast<double>(config.bs) * hidden;  // a stateful model's carried state
  const double bytes = 4 * (4 * parameters + activations + state);
  const double budget = physical_bytes() / 2;
  if (bytes <= budget) return;
  throw InputError(fmt::format("{}: the model ({:.3g} parameters) and one batch would take about {:.1f} GiB, more "
                               "than half of this machine's {:.1f} GiB of memory",
                               source, parameters, bytes / (1 << 30), physical_bytes() / (1 << 30)));
}

}  // namespace charnn
