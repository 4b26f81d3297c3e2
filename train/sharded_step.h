#pragma once
// A training step's forward and backward spread over the cores by cutting the batch.
//
// On this kind of machine (2 cores, OpenBLAS with its own pthread pool) a plain step keeps
// the second core busy only inside matrix products: every element-wise op (tanh, the RNN's
// stack/unbind copies, bias sums, log_softmax, embedding backward) runs on one thread while
// the other spins. Here the batch's rows are cut into one shard per thread; each thread runs
// forward, loss and backward of its shard with single-threaded kernels, and the gradients are
// summed in shard order. The result is the gradient of the whole batch's mean loss: the lesson
// models have no batch-coupled layers (no batch norm, no dropout), so the shards are
// independent and only the order of floating-point sums differs from the plain step
// (tests/test_sharded_step.cpp bounds the difference). With one shard it is the plain step,
// bit for bit.
#include <torch/torch.h>

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "data/loader.h"
#include "models/registry.h"
#include "common/threads.h"
#include "train/shard.h"

namespace charnn {

// Threads that run one job each per call; the caller runs job 0 itself.
class ShardPool {
 public:
  explicit ShardPool(int threads);
  ~ShardPool();
  ShardPool(const ShardPool&) = delete;
  ShardPool& operator=(const ShardPool&) = delete;

  int threads() const { return static_cast<int>(workers_.size()) + 1; }
  // Runs jobs[i] on thread i (jobs.size() <= threads()), waits for all of them and rethrows
  // the first exception in job order.
  void run(const std::vector<std::function<void()>>& jobs);

 private:
  void work(size_t index);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::vector<std::function<void()>>* jobs_ = nullptr;
  std::vector<std::exception_ptr> errors_;
  uint64_t round_ = 0;
  size_t pending_ = 0;
  bool quit_ = false;
};

// How many shards a run uses: 0 asks for one per core (std::thread::hardware_concurrency).
int resolve_shards(int requested);

class ShardedStep {
 public:
  // shards <= 1: the plain step on the calling thread, with the threads as configured.
  // More: for the step's duration, intra-op and OpenBLAS run one thread each per shard. Over
  // several processes (`ranks`, train/shard.h) the batch is cut into shards for every thread of
  // every rank, each rank computes its own, and the sum over the ranks makes the whole batch's
  // gradient and loss; with two parts in all (2 ranks of 1 shard, or 1 rank of 2) the sums are
  // the same, bit for bit.
  explicit ShardedStep(int shards, Shard& ranks = local_shard());
  ~ShardedStep();
  ShardedStep(const ShardedStep&) = delete;
  ShardedStep& operator=(const ShardedStep&) = delete;

  int shards() const { return pool_ ? pool_->threads() : 1; }
  Shard& ranks() const { return ranks_; }

  // Sets every parameter's .grad to the gradient of the batch's mean loss and returns that
  // loss. Gradients are computed even when the loss is not finite; the caller decides
  // whether to apply them.
  double loss_and_grads(LessonModel& model, LossKind loss, const Batch& batch, const torch::Device& device);

  // The batch's mean loss without autograd (validation).
  double loss(LessonModel& model, LossKind loss, const Batch& batch, const torch::Device& device);

 private:
  void run(const std::vector<std::function<void()>>& jobs);

  Shard& ranks_;
  std::optional<ScopedThreads> one_thread_per_shard_;
  std::unique_ptr<ShardPool> pool_;
};

}  // namespace charnn
