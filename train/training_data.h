#pragma once
// What the fit loop asks of a run's data, whichever family of models it feeds (the windowed
// models' ColumnarModelData, the stateful models' LanguageModelData; train/families/): the
// batches of an epoch, the step's loss and gradients, validation, and what a checkpoint must
// keep to continue the epoch exactly where it stopped.
#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "data/loader.h"
#include "models/registry.h"

namespace charnn {

// A family's resume state, saved in train_state.pt under "data": names to tensors, numbers and
// dicts, as the family lays them out.
using DataState = c10::impl::GenericDict;
inline DataState data_state() { return DataState(c10::StringType::get(), c10::AnyType::get()); }
// state[key], or an InputError naming 'data.<key>' as missing.
const c10::IValue& state_entry(const DataState& state, const char* key);

struct FitState;

// What a saved position must fit to belong to a run: its schedule and its training loader.
struct RunShape {
  std::vector<int64_t> epochs_per_fit;
  int64_t batches_per_epoch;  // len(trn_dl)
  int64_t training_rows;
  // An epoch can end before batches_per_epoch batches (Family::epochs_end_early): only bounds
  // can be checked.
  bool epochs_end_early = false;
};

class TrainingData {
 public:
  virtual ~TrainingData() = default;
  // len(trn_dl): what the progress bar and CosAnneal count as an epoch.
  virtual int64_t batches_per_epoch() const = 0;
  // The rows len(trn_dl) covers (windows, or tokens per column), as config.json records them.
  virtual int64_t training_rows() const = 0;

  // Begins an epoch (the windowed loaders draw its order here), or, right after restore(),
  // continues the one the checkpoint stopped in.
  virtual void start_epoch() = 0;
  // The epoch's next training batch, or nothing once it is done.
  virtual std::optional<Batch> next_batch() = 0;
  // After the epoch's validation: nothing of it carries into the next epoch's position.
  virtual void end_epoch() = 0;
  // Whether to stop at this batch boundary, given whether this process was asked to: over
  // several processes every one must stop at the same boundary, so the data's shard decides for
  // all (train/shard.h). One process: as asked.
  virtual bool agree_to_stop(bool asked) { return asked; }

  // Stepper.step up to the optimizer: every parameter's .grad set to the gradient of the
  // batch's loss, which is returned. Computed even when the loss is not finite.
  virtual double loss_and_grads(LessonModel& model, const Batch& batch) = 0;
  // fastai's validate: the plain mean of the validation batches' losses, in eval mode.
  virtual double validate(LessonModel& model) = 0;

  // What continues the epoch in progress and the family's random streams.
  virtual DataState state(const LessonModel& model) const = 0;
  // Puts it back (`at` is the loop's position it belongs to). Throws InputError naming the
  // entry ('data.order', ...) that is missing, malformed, or does not fit this run.
  virtual void restore(const DataState& state, const FitState& at, LessonModel& model) = 0;
};

}  // namespace charnn
