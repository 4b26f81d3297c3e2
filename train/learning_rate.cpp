#include "train/learning_rate.h"

namespace charnn {

LearningRate LearningRate::constant(double lr) { return LearningRate(lr); }

LearningRate LearningRate::cos_anneal(double init, int64_t nb, int64_t cycle_mult) {
  LearningRate rate(init);
  rate.cos_.emplace(init, nb, cycle_mult);
  return rate;
}

LearningRate::Rate LearningRate::next() {
  if (!cos_) return {last_};
  const auto r = cos_->calc_lr();
  last_ = r.lr;
  return {r.lr, r.finished_cycle};
}

LearningRate::Rate LearningRate::begin(int64_t batches_seen) {
  if (cos_) {
    while (cos_->calls() < batches_seen) next();
  }
  return next();
}

LearningRate::Rate LearningRate::after_batch() { return next(); }

}  // namespace charnn
