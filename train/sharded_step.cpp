#include "train/sharded_step.h"

#include <algorithm>

#include "train/loss.h"
#include "common/threads.h"

namespace charnn {

ShardPool::ShardPool(int threads) : errors_(static_cast<size_t>(std::max(threads, 1))) {
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { work(static_cast<size_t>(i)); });
}

ShardPool::~ShardPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    quit_ = true;
  }
  wake_.notify_all();
  for (auto& w : workers_) w.join();
}

void ShardPool::work(size_t index) {
  uint64_t seen = 0;
  for (;;) {
    const std::function<void()>* job = nullptr;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return quit_ || round_ != seen; });
      if (quit_) return;
      seen = round_;
      if (index < jobs_->size()) job = &(*jobs_)[index];
    }
    if (job) {
      try {
        (*job)();
      } catch (...) {
        errors_[index] = std::current_exception();
      }
    }
    std::lock_guard<std::mutex> lock(mutex_);
    if (--pending_ == 0) done_.notify_one();
  }
}

void ShardPool::run(const std::vector<std::function<void()>>& jobs) {
  std::fill(errors_.begin(), errors_.end(), nullptr);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    jobs_ = &jobs;
    pending_ = workers_.size();
    ++round_;
  }
  wake_.notify_all();
  if (!jobs.empty()) {
    try {
      jobs[0]();
    } catch (...) {
      errors_[0] = std::current_exception();
    }
  }
  {
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return pending_ == 0; });
    jobs_ = nullptr;
  }
  for (const auto& e : errors_) {
    if (e) std::rethrow_exception(e);
  }
}

int resolve_shards(int requested) {
  if (requested > 0) return requested;
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

namespace {

// The batch's mean loss from its shards' means, each weighted by its share of rows.
double weighted_mean(const std::vector<double>& losses, const std::vector<Part>& parts, int64_t rows) {
  double total = 0.0;
  for (size_t i = 0; i < parts.size(); ++i) {
    total += losses[i] * static_cast<double>(parts[i].count) / static_cast<double>(rows);
  }
  return total;
}

// The batch's parts that this rank's threads compute: of the batch cut into one part per
// thread of every rank, rank r's threads take the r-th run of them.
std::vector<Part> own_parts(int64_t rows, int threads, const Shard& ranks) {
  const auto all = cut_evenly(rows, threads * ranks.world());
  std::vector<Part> mine;
  for (int64_t i = ranks.rank() * threads; i < (ranks.rank() + 1) * threads; ++i) {
    if (i < static_cast<int64_t>(all.size())) mine.push_back(all[static_cast<size_t>(i)]);
  }
  return mine;
}

// The other ranks' parts, added in: the loss rides along with the gradients as a double.
double sum_over_ranks(Shard& ranks, std::vector<torch::Tensor>& grads, double loss) {
  if (ranks.world() == 1) return loss;
  grads.push_back(torch::tensor(loss, torch::kFloat64));
  ranks.sum(grads);
  const double sum = grads.back().item<double>();
  grads.pop_back();
  return sum;
}

}  // namespace

ShardedStep::ShardedStep(int shards, Shard& ranks) : ranks_(ranks) {
  if (shards <= 1) return;
  // Each shard's thread is one of the cores: a kernel that spawned threads of its own
  // would oversubscribe them.
  one_thread_per_shard_.emplace(ThreadSettings{1, 1});
  pool_ = std::make_unique<ShardPool>(shards);
}

ShardedStep::~ShardedStep() = default;

double ShardedStep::loss_and_grads(LessonModel& model, LossKind kind, const Batch& batch,
                                   const torch::Device& device) {
  const auto params = model.module->parameters();
  if (!pool_ && ranks_.world() == 1) {
    auto out = model.forward(batch.xs.to(device));
    for (auto& p : params) {
      if (p.grad().defined()) p.mutable_grad().zero_();
    }
    auto loss = lesson_loss(kind, out, batch.y.to(device));
    loss.backward();
    return loss.item<double>();
  }
  const auto parts = own_parts(batch.size(), shards(), ranks_);
  std::vector<double> losses(parts.size());
  std::vector<std::vector<torch::Tensor>> grads(parts.size());
  std::vector<std::function<void()>> jobs;
  for (size_t i = 0; i < parts.size(); ++i) {
    jobs.emplace_back([&, i] {
      const auto [begin, rows] = parts[i];
      auto out = model.forward(batch.xs.narrow(1, begin, rows).to(device));
      auto shard_loss = lesson_loss(kind, out, batch.y.narrow(0, begin, rows).to(device));
      losses[i] = shard_loss.item<double>();
      // Each shard's mean weighted by its share of rows: the sum is the batch's mean.
      const double weight = static_cast<double>(rows) / static_cast<double>(batch.size());
      grads[i] = torch::autograd::grad({shard_loss * weight}, params, {}, false, false, true);
    });
  }
  run(jobs);
  std::vector<torch::Tensor> sums;
  for (size_t p = 0; p < params.size(); ++p) {
    // Out of place: autograd may hand back one tensor as the gradient of two parameters
    // (a function whose inputs share a gradient, like two biases added together).
    torch::Tensor sum;
    for (size_t i = 0; i < parts.size(); ++i) {
      if (grads[i][p].defined()) sum = sum.defined() ? sum + grads[i][p] : grads[i][p];
    }
    sums.push_back(sum.defined() ? sum : torch::zeros_like(params[p]));
  }
  const double loss = sum_over_ranks(ranks_, sums, weighted_mean(losses, parts, batch.size()));
  for (size_t p = 0; p < params.size(); ++p) params[p].mutable_grad() = sums[p];
  return loss;
}

double ShardedStep::loss(LessonModel& model, LossKind kind, const Batch& batch, const torch::Device& device) {
  if (!pool_ && ranks_.world() == 1) {
    torch::NoGradGuard no_grad;
    return lesson_loss(kind, model.forward(batch.xs.to(device)), batch.y.to(device)).item<double>();
  }
  const auto parts = own_parts(batch.size(), shards(), ranks_);
  std::vector<double> losses(parts.size());
  std::vector<std::function<void()>> jobs;
  for (size_t i = 0; i < parts.size(); ++i) {
    jobs.emplace_back([&, i] {
      torch::NoGradGuard no_grad;  // grad mode is per thread
      const auto [begin, rows] = parts[i];
      auto out = model.forward(batch.xs.narrow(1, begin, rows).to(device));
      losses[i] = lesson_loss(kind, out, batch.y.narrow(0, begin, rows).to(device)).item<double>();
    });
  }
  run(jobs);
  std::vector<torch::Tensor> none;
  return sum_over_ranks(ranks_, none, weighted_mean(losses, parts, batch.size()));
}

// The jobs on the pool's threads, or, one shard per rank, on this one.
void ShardedStep::run(const std::vector<std::function<void()>>& jobs) {
  if (pool_) {
    pool_->run(jobs);
    return;
  }
  for (const auto& job : jobs) job();
}

}  // namespace charnn
