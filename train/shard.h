#pragma once
// This process's part of the training when one run spans several processes (train/parallel/
// joins them through c10d): rank r of w takes the r-th of w parts of every batch (rows of the
// windowed models' batches, columns of the stateful models' streams), and the collectives
// below make the update, the validation loss and the checkpoint the single process's. In one
// process (LocalShard) each collective is nothing.
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace charnn {

struct Part {
  int64_t begin, count;
};

// n items cut into `parts` as evenly as possible, never an empty part (fewer parts when n is
// smaller): the first n % parts one larger. The sharded step cuts a batch the same way.
std::vector<Part> cut_evenly(int64_t n, int64_t parts);

class Shard {
 public:
  virtual ~Shard() = default;
  virtual int64_t rank() const = 0;
  virtual int64_t world() const = 0;
  // This rank's part of n items (of cut_evenly(n, world())); an empty part when n < world.
  Part part(int64_t n) const;

  // Sums every tensor over the ranks, in place (an all-reduce).
  virtual void sum(std::vector<torch::Tensor>& tensors) = 0;
  // Every rank's part, joined along dim in rank order (an all-gather).
  virtual torch::Tensor gather(const torch::Tensor& part, int64_t dim) = 0;
  // Whether any rank says yes; the largest value any rank gives.
  virtual bool any(bool mine) = 0;
  virtual int64_t max(int64_t mine) = 0;
  // Rank 0's bytes, on every rank.
  virtual std::string broadcast(const std::string& bytes) = 0;
};

// The single process: rank 0 of 1.
class LocalShard : public Shard {
 public:
  int64_t rank() const override { return 0; }
  int64_t world() const override { return 1; }
  void sum(std::vector<torch::Tensor>& /*tensors*/) override {}
  torch::Tensor gather(const torch::Tensor& part, int64_t /*dim*/) override { return part; }
  bool any(bool mine) override { return mine; }
  int64_t max(int64_t mine) override { return mine; }
  std::string broadcast(const std::string& bytes) override { return bytes; }
};

// One LocalShard for everyone that trains alone.
Shard& local_shard();

}  // namespace charnn
