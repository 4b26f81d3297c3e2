#include "train/shard.h"

#include <algorithm>

namespace charnn {

std::vector<Part> cut_evenly(int64_t n, int64_t parts) {
  const int64_t k = std::min<int64_t>(parts, n);
  std::vector<Part> out;
  int64_t begin = 0;
  for (int64_t i = 0; i < k; ++i) {
    const int64_t size = n / k + (i < n % k ? 1 : 0);
    out.push_back({begin, size});
    begin += size;
  }
  return out;
}

Part Shard::part(int64_t n) const {
  const auto parts = cut_evenly(n, world());
  return rank() < static_cast<int64_t>(parts.size()) ? parts[static_cast<size_t>(rank())] : Part{n, 0};
}

Shard& local_shard() {
  static LocalShard shard;
  return shard;
}

}  // namespace charnn
