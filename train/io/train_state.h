#pragma once
// A run's resumable checkpoint: model.pt (the weights, the file Python reads) and
// train_state.pt (everything else --resume needs). train_state.pt is a torch.save'd dict that
// any PyTorch reads with torch.load, and that depends on no LibTorch build (version 2):
//   "optimizer": {"name": config.json's optimizer, "state": {parameter name: its state},
//                "param_groups": [{the group's options, "params": [names]}]}: the layout of
//                Python's optimizer.state_dict(), keyed by parameter name instead of index
//                (Adam: {"step", "exp_avg", "exp_avg_sq"}; {"lr", "betas", "eps",
//                "weight_decay", "amsgrad"})
//   "position":  fit call, epoch, batch, optimizer steps, fastai's smoothed-loss state, the
//                epoch rows so far, and lo.lrs
//   "data":      the model family's own state (train/families/): the windowed models' epoch
//                order and loader generator; the stateful models' row, numpy stream
//                (np.random.get_state()), carried hidden state and torch's generator
//   "model":     the size and CRC-32 of the model.pt it belongs to
// Version 1 (charnn 0.2.0) kept the data's state at the top level ("order", "generator",
// "stateful": {"numpy", "hidden"}) and its row in "position"; it still loads.
// The two files are committed in two phases so that a kill at any instant leaves a pair that
// belongs together: the new weights go to model.pt.next, then train_state.pt (naming them)
// replaces the old one, then model.pt.next replaces model.pt. Loading finishes an
// interrupted commit (or drops one that never reached train_state.pt).
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

#include "train/fit.h"
#include "train/optimizer.h"
#include "train/training_data.h"

namespace charnn {

constexpr const char* kModelFile = "model.pt";             // the state_dict Python's torch.load reads
constexpr const char* kTrainStateFile = "train_state.pt";  // everything else --resume needs
constexpr const char* kPendingModelFile = "model.pt.next";  // a checkpoint's new weights, mid-commit

// Where a run's schedule stands.
struct TrainPosition {
  int64_t fit_index = 0;     // the fit call in progress (the schedule's length once all are done)
  int64_t steps_before = 0;  // optimizer steps of the finished fit calls
  FitState fit;              // where inside the fit call in progress
  // lo.lrs when that fit call began: the rate the previous call left (0 before the first). A
  // call whose rate is "prev" (a CosAnneal started where the last one stopped) starts from it.
  double lrs = 0.0;
  int64_t step() const { return steps_before + fit.batches_seen; }
};

void save_checkpoint(const std::filesystem::path& dir, const torch::nn::Module& model, const std::string& optimizer,
                     Optimizer& opt, const TrainPosition& position, const DataState& data);

struct LoadedCheckpoint {
  TrainPosition position;
  DataState data;  // TrainingData::state() as saved
};
// Loads model.pt into model and the state of the run's optimizer (its registry name) into opt,
// and checks the position against the run (the data's state is the family's to check). Anything missing, unreadable, corrupt or
// belonging to another run throws InputError naming the file and the problem.
LoadedCheckpoint load_checkpoint(const std::filesystem::path& dir, torch::nn::Module& model,
                                 const std::string& optimizer, Optimizer& opt, const RunShape& shape);

}  // namespace charnn
