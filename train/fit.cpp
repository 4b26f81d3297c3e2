#include "train/fit.h"

#include <fmt/format.h>

#include <cmath>

#include "common/test_hold.h"

namespace charnn {
namespace {

constexpr double kAvgMom = 0.98;  // fastai 0.7's avg_mom for the printed training loss

int64_t validations = 0;  // this process's validation passes

bool any_stop(const std::vector<FitObserver*>& observers) {
  bool stop = false;
  for (auto* o : observers) stop = o->stop_requested() || stop;
  return stop;
}

void check_finite_loss(double loss, const FitState& state) {
  if (std::isfinite(loss)) return;
  throw NonFiniteLoss(fmt::format("training loss is {} at epoch {}, batch {} (step {} of this fit); "
                                  "stopped before applying it",
                                  loss, state.epoch, state.batch, state.batches_seen + 1));
}

void report_cycle(const LearningRate::Rate& rate, const std::vector<FitObserver*>& observers) {
  if (rate.finished_cycle < 0) return;
  for (auto* o : observers) o->on_cycle_end(rate.finished_cycle);
}

}  // namespace

double FitState::smoothed() const {
  return batches_seen == 0 ? 0.0 : avg_loss / (1.0 - std::pow(kAvgMom, static_cast<double>(batches_seen)));
}

void FitState::record_loss(double loss) {
  ++batches_seen;
  avg_loss = avg_loss * kAvgMom + loss * (1.0 - kAvgMom);
}

FitResult fit(LessonModel& model, TrainingData& data, int64_t epochs, Optimizer& opt, LearningRate& lr,
              const std::vector<FitObserver*>& observers, FitState state) {
  const int64_t nb = data.batches_per_epoch();
  for (auto* o : observers) o->on_fit_begin(state, epochs, nb);
  auto rate = lr.begin(state.batches_seen);
  report_cycle(rate, observers);
  // Observers always see a state that resumes exactly where training is.
  while (state.epoch < epochs) {
    model.module->train();
    data.start_epoch();
    for (;;) {
      if (data.agree_to_stop(any_stop(observers))) return {false, state};
      const auto batch = data.next_batch();
      if (!batch) break;
      set_lrs(opt, rate.lr);
      const double loss = data.loss_and_grads(model, *batch);
      check_finite_loss(loss, state);
      opt.torch().step();
      ++state.batch;
      state.record_loss(loss);
      const double used = rate.lr;
      rate = lr.after_batch();
      for (auto* o : observers) o->on_batch_end({state, epochs, nb, loss, used});
      report_cycle(rate, observers);
    }
    test_hold("validate", ++validations);  // CHARNN_TEST_HOLD=validate:N, for the tests of signals here
    const EpochRow row{state.epoch, state.smoothed(), data.validate(model)};
    data.end_epoch();
    state.rows.push_back(row);
    ++state.epoch;
    state.batch = 0;
    for (auto* o : observers) o->on_epoch_end(row, state);
  }
  return {true, state};
}

}  // namespace charnn
