#pragma once
// ColumnarModelData.from_arrays: split the windows by validation index, then a shuffled
// training loader (bs) and an in-order validation loader (2*bs), last partial batch kept.
#include <torch/torch.h>

#include <cstdint>

#include "data/layouts.h"

namespace charnn {

struct Batch {
  torch::Tensor xs;  // [cs, B] int64: the notebook's torch.stack(cs), one column per step
  torch::Tensor y;   // [B], or [B, cs] for the multi-output layout
  int64_t size() const { return xs.size(1); }
};

class DataLoader {
 public:
  // Rows of `windows` are transposed once into columns so that every batch is one
  // index_select of contiguous [cs, B] memory.
  DataLoader(const Windows& windows, const torch::Tensor& rows, int64_t batch_size, bool shuffle,
             uint64_t seed);

  int64_t num_rows() const { return columns_.size(1); }
  int64_t num_batches() const { return (num_rows() + batch_size_ - 1) / batch_size_; }
  int64_t batch_size() const { return batch_size_; }
  bool shuffles() const { return shuffle_; }

  // The row order for one pass: torch.randperm(N, generator) when shuffling (one draw per
  // epoch, like PyTorch's RandomSampler), 0..N-1 otherwise.
  torch::Tensor epoch_order();
  Batch batch(const torch::Tensor& order, int64_t i) const;

  // Generator state, so a resumed run draws the same next permutation.
  torch::Tensor generator_state() const;
  void set_generator_state(const torch::Tensor& state);

 private:
  torch::Tensor columns_;  // [cs, N]
  torch::Tensor labels_;   // [N] or [N, cs]
  int64_t batch_size_;
  bool shuffle_;
  at::Generator generator_;
};

struct ModelData {
  DataLoader trn_dl;
  DataLoader val_dl;
};

ModelData from_arrays(const torch::Tensor& val_idxs, const Windows& windows, int64_t bs = 512,
                      uint64_t seed = 0);

}  // namespace charnn
