#include "train/fit.h"

#include <fmt/format.h>

#include <cmath>

#include "train/loss.h"
#include "train/sharded_step.h"

namespace charnn {
namespace {

constexpr double kAvgMom = 0.98;  // fastai 0.7's avg_mom for the printed training loss

double train_batch(LessonModel& model, const Batch& batch, torch::optim::Optimizer& opt, LossKind loss_kind,
                   const torch::Device& device, const FitState& state, ShardedStep& step) {
  const double value = step.loss_and_grads(model, loss_kind, batch, device);
  check_finite_loss(value, state);
  opt.step();
  return value;
}

double validate(LessonModel& model, DataLoader& dl, LossKind loss, const torch::Device& device, ShardedStep& step) {
  model.module->eval();
  const auto order = dl.epoch_order();
  double total = 0.0;
  for (int64_t i = 0; i < dl.num_batches(); ++i) total += step.loss(model, loss, dl.batch(order, i), device);
  return dl.num_batches() == 0 ? 0.0 : total / static_cast<double>(dl.num_batches());
}

}  // namespace

double FitState::smoothed() const {
  return batches_seen == 0 ? 0.0 : avg_loss / (1.0 - std::pow(kAvgMom, static_cast<double>(batches_seen)));
}

void FitState::record_loss(double loss) {
  ++batches_seen;
  avg_loss = avg_loss * kAvgMom + loss * (1.0 - kAvgMom);
}

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

void set_lrs(torch::optim::Optimizer& opt, double lr) {
  for (auto& group : opt.param_groups()) group.options().set_lr(lr);
}

double current_lr(torch::optim::Optimizer& opt) { return opt.param_groups().at(0).options().get_lr(); }

FitResult fit(LessonModel& model, ModelData& md, int64_t epochs, torch::optim::Optimizer& opt,
              LossKind loss, const std::vector<FitObserver*>& observers, FitState state,
              const torch::Device& device, int shards) {
  const int64_t nb = md.trn_dl.num_batches();
  ShardedStep step(device.is_cpu() ? shards : 1);
  for (auto* o : observers) o->on_fit_begin(state, epochs, nb);
  // Observers always see a state that resumes exactly where training is.
  while (state.epoch < epochs) {
    model.module->train();
    if (!state.order.defined()) state.order = md.trn_dl.epoch_order();
    while (state.batch < nb) {
      if (any_stop(observers)) return {false, state};
      const double lr = current_lr(opt);
      const double l = train_batch(model, md.trn_dl.batch(state.order, state.batch), opt, loss, device, state, step);
      ++state.batch;
      state.record_loss(l);
      for (auto* o : observers) o->on_batch_end({state, epochs, nb, l, lr});
    }
    const EpochRow row{state.epoch, state.smoothed(), validate(model, md.val_dl, loss, device, step)};
    state.rows.push_back(row);
    ++state.epoch;
    state.batch = 0;
    state.order = torch::Tensor();
    for (auto* o : observers) o->on_epoch_end(row, state);
  }
  return {true, state};
}

}  // namespace charnn
