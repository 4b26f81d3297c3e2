#pragma once
// The first half's family: the windowed models (Char3Model .. CharSeqRnn) over
// ColumnarModelData.from_arrays. Each batch is a fresh set of windows from a zero state, in an
// order drawn from the loader's generator at every epoch's start; the step is
// train/sharded_step.h's, the plain step with one shard.
#include <memory>

#include "data/loader.h"
#include "train/families/family.h"

namespace charnn {

std::shared_ptr<const Family> windowed_family();

// A run's TrainingData over md: `loss` is the model's criterion, `shards` cuts each CPU batch
// (1: the plain step, bit for bit PyTorch's). For tests and the bench, which build md themselves.
std::unique_ptr<TrainingData> windowed_training(ModelData md, LossKind loss, int shards,
                                                const torch::Device& device = torch::kCPU,
                                                Shard& ranks = local_shard());

}  // namespace charnn
