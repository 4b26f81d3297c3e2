#pragma once
// A measured proposal, not used by `charnn train`: the stateful models' training step with the
// batch's columns cut across the cores, as train/sharded_step.h cuts the windowed models' rows.
// Each column of the language-model data is its own stretch of text with its own hidden state,
// so the columns are independent. Each shard is a replica of the model whose parameters share
// the main model's storage and which carries the state of its own columns; the shards' gradients
// are summed in shard order into the main model's, each weighted by its share of the columns, so
// the optimizer steps the main model and the replicas read the new weights. Equal to the plain
// step up to the order of floating-point sums, except for dropout (the LSTM's): the shards draw
// their masks from the global generator from two threads, in an order the threads decide.
// The bench runs it as "MODEL+sharded" beside the stateful models.
#include <torch/torch.h>

#include <memory>
#include <vector>

#include "data/language_model_data.h"
#include "models/registry.h"
#include "train/sharded_step.h"
#include "common/threads.h"

namespace charnn::bench {

class ShardedLmStep {
 public:
  // `main` was made from `config`; its parameters are the ones the optimizer steps.
  ShardedLmStep(const ModelConfig& config, LessonModel& main, int shards);

  // Sets every parameter's .grad of the main model to the gradient of the batch's mean
  // F.nll_loss and returns that loss; each shard's state carries to the next call.
  double loss_and_grads(const LmBatch& batch);

 private:
  LessonModel& main_;
  std::vector<LessonModel> replicas_;
  std::unique_ptr<ShardPool> pool_;
};

}  // namespace charnn::bench
