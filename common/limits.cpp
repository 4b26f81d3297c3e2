#include "common/limits.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "common/error.h"

namespace charnn {
namespace {

int64_t cores() { return std::max<int64_t>(1, std::thread::hardware_concurrency()); }

double physical_bytes() {
  return static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGE_SIZE));
}

}  // namespace

int64_t max_shards() { return std::min<int64_t>(256, 4 * cores()); }

void check_shards(int64_t shards) {
  if (shards <= max_shards()) return;
  throw InputError(fmt::format("--shards: at most {} threads (this machine has {} cores), got {}", max_shards(),
                               cores(), shards));
}

void check_model_fits(int64_t n_fac, int64_t n_hidden, int64_t window, int64_t bs) {
  // Doubles, so that no product of huge flags can wrap. The vocabulary is not known yet: 256
  // characters stands for it (the lesson's corpus has 85). Every layer of the lesson's models
  // is at most an embedding, a few n_hidden x n_hidden or n_fac x n_hidden matrices, and the
  // output layer; every step of every window keeps a few vectors of each size for backward.
  const double vocab = 256, fac = static_cast<double>(n_fac), hidden = static_cast<double>(n_hidden);
  const double params = vocab * fac + 3 * (fac + hidden) * hidden + hidden * vocab;
  const double activations =
      static_cast<double>(bs) * 2 * static_cast<double>(window) * 4 * (fac + hidden + vocab);
  const double bytes = 4 * (4 * params + activations);
  const double budget = physical_bytes() / 2;
  if (bytes <= budget) return;
  throw InputError(fmt::format("--n-fac {}, --n-hidden {}, --window {}, --bs {}: the model and one batch would "
                               "take about {:.1f} GiB, more than half of this machine's {:.1f} GiB of memory",
                               n_fac, n_hidden, window, bs, bytes / (1 << 30), physical_bytes() / (1 << 30)));
}

}  // namespace charnn
