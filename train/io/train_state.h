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
//   "stateful":  a stateful model's run only: {"numpy": {"key", "pos", "has_gauss", "gauss"}
//                (np.random.get_state()), "hidden": [the model's carried state tensors]}; its
//                "generator" is torch's global CPU generator (the LSTM's dropout masks)
// The two files are committed in two phases so that a kill at any instant leaves a pair that
// belongs together: the new weights go to model.pt.next, then train_state.pt (naming them)
// replaces the old one, then model.pt.next replaces model.pt. Loading finishes an
// interrupted commit (or drops one that never reached train_state.pt).
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

#include "data/split.h"
#include "train/fit.h"

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

// What a saved position must fit to belong to a run: its schedule and its training loader.
struct RunShape {
  std::vector<int64_t> epochs_per_fit;
  int64_t batches_per_epoch;
  int64_t training_rows;
  // Language-model data: an epoch ends when the rows run out, before batches_per_epoch
  // (len(trn_dl)) batches, so only bounds can be checked.
  bool epochs_vary = false;
};

// What a stateful model's run needs besides the position to continue exactly.
struct StatefulResume {
  NumpyRandomState::State numpy;     // the stream the loaders draw sequence lengths from
  std::vector<torch::Tensor> hidden;  // StatefulModel::state()
};

void save_checkpoint(const std::filesystem::path& dir, const torch::nn::Module& model, torch::optim::Adam& opt,
                     const TrainPosition& position, const torch::Tensor& generator_state,
                     const StatefulResume* stateful = nullptr);

struct LoadedCheckpoint {
  TrainPosition position;
  torch::Tensor generator_state;
  std::optional<StatefulResume> stateful;  // present when the file holds one
};
// Loads model.pt into model and the moments into opt, and checks the position against the
// run. Anything missing, unreadable, corrupt or belonging to another run throws InputError
// naming the file and the problem.
LoadedCheckpoint load_checkpoint(const std::filesystem::path& dir, torch::nn::Module& model, torch::optim::Adam& opt,
                                 const RunShape& shape);

}  // namespace charnn
