#pragma once
// fastai 0.7's fit(model, data, epochs, opt, crit), the loop of every fit cell of the notebook,
// once for both families of models (train/training_data.h): for each epoch, each batch's
// loss and gradients, the optimizer's step at the rate the schedule gives (train/learning_rate.h),
// then validation. The printed rows come from fastai's bookkeeping: a debiased exponentially
// smoothed training loss (momentum 0.98, counted across the whole fit call) and the plain mean
// of the validation batches' losses.
#include <torch/torch.h>

#include <cstdint>
#include <stdexcept>
#include <vector>

#include "train/learning_rate.h"
#include "train/optimizer.h"
#include "train/training_data.h"

namespace charnn {

struct EpochRow {
  int64_t epoch;    // restarts at 0 for each fit call, as in the notebook
  double trn_loss;  // the smoothed loss at the epoch's last batch
  double val_loss;
};

// Where the loop stands in a fit call; with the data's own state (TrainingData::state), all that
// continues it exactly.
struct FitState {
  int64_t epoch = 0;          // the epoch in progress
  int64_t batch = 0;          // the next batch to train in that epoch (batches done so far)
  int64_t batches_seen = 0;   // b in fastai's debias, across the fit call
  double avg_loss = 0.0;      // fastai's avg_loss before debiasing
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
  double lr;    // the rate this batch's step used
};

// Observers see progress; any of them may ask training to stop at the next batch boundary.
class FitObserver {
 public:
  virtual ~FitObserver() = default;
  virtual void on_fit_begin(const FitState& /*state*/, int64_t /*epochs*/, int64_t /*batches_per_epoch*/) {}
  virtual void on_batch_end(const BatchEvent& /*event*/) {}
  // CosAnneal's on_cycle_end(cycle), after the batch whose next rate ended the cycle.
  virtual void on_cycle_end(int64_t /*cycle*/) {}
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

// Runs `epochs` epochs from `resume_from` (a fresh call: FitState{}; a resumed one: the saved
// position, with `data` restored to it). Throws NonFiniteLoss, naming the epoch, batch and
// step, before the optimizer applies a NaN or infinite loss.
FitResult fit(LessonModel& model, TrainingData& data, int64_t epochs, Optimizer& opt, LearningRate& lr,
              const std::vector<FitObserver*>& observers = {}, FitState resume_from = {});

}  // namespace charnn
