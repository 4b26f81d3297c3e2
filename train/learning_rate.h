#pragma once
// The one owner of the learning rate through a fit call: the notebook's set_lrs(opt, lr)
// before the call, or fastai's CosAnneal callback (train/cos_anneal.h) computing every batch's
// rate. The fit loop asks it for each batch's rate and sets that on the optimizer; nothing else
// writes the rate, and the batch event carries the rate the step used.
#include <cstdint>
#include <optional>

#include "train/cos_anneal.h"

namespace charnn {

class LearningRate {
 public:
  static LearningRate constant(double lr);
  // CosAnneal(lo, nb = len(trn_dl), cycle_mult) started from init (lo.lrs).
  static LearningRate cos_anneal(double init, int64_t nb, int64_t cycle_mult);

  struct Rate {
    double lr;
    int64_t finished_cycle = -1;  // the CosAnneal cycle this call ended (on_cycle_end), or -1
  };
  // The rate of the call's next batch once batches_seen have trained: on_train_begin's call,
  // after replaying the calls those batches made when the fit call resumes. Of the cycles the
  // replayed calls ended only one ended by this very call is reported (again, after a resume:
  // its checkpoint is written again, with the same weights).
  Rate begin(int64_t batches_seen);
  // After a batch trained: the rate of the next one (on_batch_end's call).
  Rate after_batch();
  // lo.lrs once the call ends: the rate computed for the batch after its last, which a later
  // call given as "prev" starts from.
  double last() const { return last_; }

 private:
  explicit LearningRate(double lr) : last_(lr) {}
  Rate next();

  std::optional<CosAnneal> cos_;
  double last_;
};

}  // namespace charnn
