#include "data/loader.h"

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

#include <stdexcept>

#include "data/split.h"

namespace charnn {

DataLoader::DataLoader(const Windows& windows, const torch::Tensor& rows, int64_t batch_size,
                       bool shuffle, uint64_t seed)
    : columns_(windows.xs.index_select(0, rows).t().contiguous()),
      labels_(windows.y.index_select(0, rows).contiguous()),
      batch_size_(batch_size),
      shuffle_(shuffle),
      generator_(at::detail::createCPUGenerator(seed)) {
  if (batch_size < 1) throw std::invalid_argument(fmt::format("batch size must be >= 1, got {}", batch_size));
}

torch::Tensor DataLoader::epoch_order() {
  if (!shuffle_) return torch::arange(num_rows(), torch::kInt64);
  return torch::randperm(num_rows(), generator_, torch::kInt64);
}

Batch DataLoader::batch(const torch::Tensor& order, int64_t i) const {
  const int64_t start = i * batch_size_;
  if (i < 0 || start >= num_rows()) {
    throw std::out_of_range(fmt::format("batch {} out of range [0, {})", i, num_batches()));
  }
  auto rows = order.slice(0, start, std::min(start + batch_size_, num_rows()));
  return {columns_.index_select(1, rows), labels_.index_select(0, rows)};
}

torch::Tensor DataLoader::generator_state() const { return generator_.get_state(); }

void DataLoader::set_generator_state(const torch::Tensor& state) { generator_.set_state(state); }

ModelData from_arrays(const torch::Tensor& val_idxs, const Windows& windows, int64_t bs, uint64_t seed) {
  const auto split = split_by_idx(val_idxs, windows.rows());
  return {DataLoader(windows, split.trn, bs, /*shuffle=*/true, seed),
          DataLoader(windows, split.val, 2 * bs, /*shuffle=*/false, seed)};
}

}  // namespace charnn
