#include "train/cos_anneal.h"

#include <cmath>
#include <stdexcept>

namespace charnn {

CosAnneal::CosAnneal(double init, int64_t nb, int64_t cycle_mult)
    : init_(init), nb_(static_cast<double>(nb)), cycle_mult_(cycle_mult) {
  if (nb < 1 || cycle_mult < 1) throw std::invalid_argument("CosAnneal needs nb >= 1 and cycle_mult >= 1");
}

CosAnneal::Rate CosAnneal::calc_lr() {
  // fastai compares the iteration with the current cycle's length over 20; once the first
  // cycle has ended, both have grown past it, so the warm-up never returns.
  const bool warm_up = static_cast<double>(iteration_) < nb_ / 20;
  ++iteration_;
  if (warm_up) {
    ++cycle_iter_;
    return {init_ / 100};
  }
  const double cos_out = std::cos(M_PI * static_cast<double>(cycle_iter_) / nb_) + 1;
  ++cycle_iter_;
  Rate rate{init_ / 2 * cos_out};
  if (static_cast<double>(cycle_iter_) == nb_) {
    cycle_iter_ = 0;
    nb_ *= static_cast<double>(cycle_mult_);
    rate.finished_cycle = cycle_count_++;
  }
  return rate;
}

}  // namespace charnn
