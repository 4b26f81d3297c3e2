#pragma once
// fastai 0.7's fit(model, data, epochs, opt, crit) and set_lrs, with the bookkeeping the
// notebook's printed rows come from: a debiased exponentially smoothed training loss
// (momentum 0.98, counted across the whole fit call) and an unweighted mean of the
// per-batch validation losses.
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "data/loader.h"
#include "models/registry.h"

namespace charnn {

struct EpochRow {
  int64_t epoch;    // restarts at 0 for each fit call, as in the notebook
  double trn_loss;  // the smoothed loss at the epoch's last batch
  double val_loss;
};

// Everything needed to continue a fit call exactly where it stopped.
struct FitState {
  int64_t epoch = 0;          // the epoch in progress
  int64_t batch = 0;          // the next batch to train in that epoch (batches done so far)
  int64_t batches_seen = 0;   // b in fastai's debias, across the fit call
  double avg_loss = 0.0;      // fastai's avg_loss before debiasing
  torch::Tensor order;        // the epoch's row permutation (undefined before the epoch draws it)
  int64_t row = 0;            // language-model data: the loader's i, the next batch's first row
  std::vector<EpochRow> rows; // rows finished so far
  double smoothed() const;
  // One more training batch of this loss in fastai's smoothed-loss bookkeeping.
  void record_loss(double loss);
};

struct BatchEvent {
  const FitState& state;
  int64_t epochs;
  int64_t batches_per_epoch;
  double loss;  // this batch's raw loss
  double lr;    // the learning rate this batch's step used
};

// Observers see progress; any of them may ask training to stop at the next batch boundary.
class FitObserver {
 public:
  virtual ~FitObserver() = default;
  virtual void on_fit_begin(const FitState& /*state*/, int64_t /*epochs*/, int64_t /*batches_per_epoch*/) {}
  virtual void on_batch_end(const BatchEvent& /*event*/) {}
  virtual void on_epoch_end(const EpochRow& /*row*/, const FitState& /*state*/) {}
  virtual bool stop_requested() { return false; }
};

struct FitResult {
  bool completed = true;  // false when an observer stopped it; state then resumes it
  FitState state;         // state.rows: the epoch rows of the call
};

class NonFiniteLoss : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

void set_lrs(torch::optim::Optimizer& opt, double lr);
// The rate the next step applies (the first parameter group's; set_lrs sets them all).
double current_lr(torch::optim::Optimizer& opt);

// What both fit loops (this one and train/lm_fit.h's) share around their step: whether any
// observer asks to stop, and the NonFiniteLoss (naming epoch, batch and step) thrown before
// the optimizer applies a NaN or infinite loss.
bool any_stop(const std::vector<FitObserver*>& observers);
void check_finite_loss(double loss, const FitState& state);

// Throws NonFiniteLoss (naming epoch and batch) when a training loss is NaN or infinite,
// before the optimizer step applies it.
// shards > 1 cuts each CPU batch across that many threads (train/sharded_step.h): faster on
// several cores, equal to the plain step up to the order of floating-point sums. 1 is the
// plain step, bit for bit what PyTorch computes.
FitResult fit(LessonModel& model, ModelData& md, int64_t epochs, torch::optim::Optimizer& opt,
              LossKind loss, const std::vector<FitObserver*>& observers = {},
              FitState resume_from = {}, const torch::Device& device = torch::kCPU, int shards = 1);

}  // namespace charnn
