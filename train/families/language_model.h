#pragma once
// The second half's family: the stateful models (CharSeqStateful*) over fastai's
// LanguageModelData. The text is cut into bs columns read bptt-ish rows at a time, each batch's
// length drawn from numpy's stream; the model carries its hidden state from batch to batch,
// epoch to epoch, training to validation and fit call to fit call, detached after every batch.
#include <memory>

#include "data/language_model_data.h"
#include "train/families/family.h"

namespace charnn {

std::shared_ptr<const Family> language_model_family();

// A run's TrainingData over md, for tests and the bench, which build md themselves.
std::unique_ptr<TrainingData> language_model_training(LanguageModelData md, const torch::Device& device = torch::kCPU,
                                                      Shard& shard = local_shard());

}  // namespace charnn
