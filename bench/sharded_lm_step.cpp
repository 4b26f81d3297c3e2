#include "bench/sharded_lm_step.h"

#include <functional>

namespace charnn::bench {

ShardedLmStep::ShardedLmStep(const ModelConfig& config, LessonModel& main, int shards) : main_(main) {
  auto params = main.module->named_parameters();
  for (int i = 0; i < shards; ++i) {
    auto replica = make_model(config);
    torch::NoGradGuard no_grad;
    for (auto& p : replica.module->named_parameters()) p.value().set_data(params[p.key()]);
    replica.module->train(main.module->is_training());
    replicas_.push_back(std::move(replica));
  }
  pool_ = std::make_unique<ShardPool>(shards);
}

double ShardedLmStep::loss_and_grads(const LmBatch& batch) {
  const int64_t sl = batch.x.size(0), bs = batch.x.size(1);
  const auto n = static_cast<int64_t>(replicas_.size());
  std::vector<double> losses(replicas_.size());
  std::vector<std::vector<torch::Tensor>> grads(replicas_.size());
  std::vector<std::function<void()>> jobs;
  int64_t begin = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t cols = bs / n + (i < bs % n ? 1 : 0);
    jobs.emplace_back([&, i, begin, cols] {
      auto& r = replicas_[static_cast<size_t>(i)];
      r.module->train(main_.module->is_training());
      auto out = r.stateful->forward(batch.x.narrow(1, begin, cols));
      auto y = batch.y.view({sl, bs}).narrow(1, begin, cols).reshape({-1});
      auto loss = torch::nll_loss(out, y);
      losses[static_cast<size_t>(i)] = loss.item<double>() * static_cast<double>(cols) / static_cast<double>(bs);
      const double weight = static_cast<double>(cols) / static_cast<double>(bs);
      grads[static_cast<size_t>(i)] = torch::autograd::grad({loss * weight}, r.module->parameters());
    });
    begin += cols;
  }
  {
    // Each shard's thread is one of the cores, but only while the shards run: held for the
    // object's life, one BLAS thread also slowed every plain step the bench timed beside it.
    ScopedThreads one_thread_per_shard({1, 1});
    pool_->run(jobs);
  }
  auto params = main_.module->parameters();
  double total = 0.0;
  for (const auto l : losses) total += l;
  for (size_t p = 0; p < params.size(); ++p) {
    auto sum = grads[0][p];
    for (size_t i = 1; i < grads.size(); ++i) sum = sum + grads[i][p];
    params[p].mutable_grad() = sum;
  }
  return total;
}

}  // namespace charnn::bench
