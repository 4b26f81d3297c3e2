#include "common/limits.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "common/error.h"

namespace charnn {
namespace {

int64_t cores() { return std::max<int64_t>(1, std::thread::hardware_concurrency()); }

}  // namespace

double physical_bytes() {
  return static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGE_SIZE));
}

int64_t max_shards() { return std::min<int64_t>(256, 4 * cores()); }

void check_shards(int64_t shards) {
  if (shards <= max_shards()) return;
  throw InputError(fmt::format("--shards: at most {} threads (this machine has {} cores), got {}", max_shards(),
                               cores(), shards));
}

}  // namespace charnn
