#pragma once
// A run's resumable checkpoint: model.pt (the weights, the file Python reads) and
// train_state.pt (everything else --resume needs). train_state.pt is a torch.save'd dict that
// any PyTorch reads with torch.load, and that depends on no LibTorch build:
//   "optimizer": Adam's state as Python's optimizer.state_dict() lays it out, but keyed by
//                parameter name instead of index: {"state": {name: {"step", "exp_avg",
//                "exp_avg_sq"}}, "param_groups": [{"lr", "betas", "eps", "weight_decay",
//                "amsgrad", "params": [names]}]}
//   "position":  fit call, epoch, batch, optimizer steps, fastai's smoothed-loss state and
//                the epoch rows so far; "order": the epoch's batch order; "generator": the
//                loader's torch generator state
//   "model":     the size and CRC-32 of the model.pt it belongs to
// The two files are committed in two phases so that a kill at any instant leaves a pair that
// belongs together: the new weights go to model.pt.next, then train_state.pt (naming them)
// replaces the old one, then model.pt.next replaces model.pt. Loading finishes an
// interrupted commit (or drops one that never reached train_state.pt).
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <vector>

#include "train/fit.h"

namespace charnn {

constexpr const char* kModelFile = "model.pt";             // the state_dict Python's torch.load reads
constexpr const char* kTrainStateFile = "train_state.pt";  // everything else --resume needs

// Where a run's schedule stands.
struct TrainPosition {
  int64_t fit_index = 0;     // the fit call in progress (the schedule's length once all are done)
  int64_t steps_before = 0;  // optimizer steps of the finished fit calls
  FitState fit;              // where inside the fit call in progress
  int64_t step() const { return steps_before + fit.batches_seen; }
};

// What a saved position must fit to belong to a run: its schedule and its training loader.
struct RunShape {
  std::vector<int64_t> epochs_per_fit;
  int64_t batches_per_epoch;
  int64_t training_rows;
};

void save_checkpoint(const std::filesystem::path& dir, const torch::nn::Module& model, torch::optim::Adam& opt,
                     const TrainPosition& position, const torch::Tensor& generator_state);

struct LoadedCheckpoint {
  TrainPosition position;
  torch::Tensor generator_state;
};
// Loads model.pt into model and the moments into opt, and checks the position against the
// run. Anything missing, unreadable, corrupt or belonging to another run throws InputError
// naming the file and the problem.
LoadedCheckpoint load_checkpoint(const std::filesystem::path& dir, torch::nn::Module& model, torch::optim::Adam& opt,
                                 const RunShape& shape);

}  // namespace charnn
