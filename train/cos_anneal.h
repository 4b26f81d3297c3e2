#pragma once
// fastai 0.7's CosAnneal(lo, nb, cycle_mult, on_cycle_end), the learning-rate schedule of the
// notebook's "Putting it all together" cells, quirks kept (docs/lesson-semantics.md §10.2):
// cycles are counted in nb = len(trn_dl) iterations, not epochs; the first nb/20 iterations
// of a new schedule run at init/100 and still count towards the first cycle; a cycle ends
// while the rate of its last batch is computed, before that batch trains.
#include <cstdint>

namespace charnn {

class CosAnneal {
 public:
  // init: lo.lrs when the callback is built; nb: len(md.trn_dl).
  CosAnneal(double init, int64_t nb, int64_t cycle_mult);

  struct Rate {
    double lr;
    int64_t finished_cycle = -1;  // the cycle this call ended (on_cycle_end's cycle_count), or -1
  };
  // calc_lr: the rate of the next batch. Call k (from 0) gives batch k's rate.
  Rate calc_lr();
  int64_t calls() const { return iteration_; }

 private:
  double init_;
  double nb_;  // grows by cycle_mult at each cycle's end, as fastai's self.nb does
  int64_t cycle_mult_;
  int64_t iteration_ = 0, cycle_iter_ = 0, cycle_count_ = 0;
};

}  // namespace charnn
