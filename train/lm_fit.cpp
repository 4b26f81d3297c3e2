#include "train/lm_fit.h"

namespace charnn {
namespace {

// Stepper.step: forward, zero_grad, loss, backward, step.
double train_batch(LessonModel& model, const LmBatch& batch, torch::optim::Optimizer& opt,
                   const torch::Device& device, const FitState& state) {
  const auto out = model.stateful->forward(batch.x.to(device));
  opt.zero_grad();
  const auto loss = torch::nll_loss(out, batch.y.to(device));
  loss.backward();
  const double value = loss.item<double>();
  check_finite_loss(value, state);
  opt.step();
  return value;
}

}  // namespace

double validate(LessonModel& model, LanguageModelLoader& dl, const torch::Device& device) {
  model.module->eval();
  torch::NoGradGuard no_grad;
  double total = 0.0;
  int64_t batches = 0;
  for (const auto& [x, y] : dl) {
    total += torch::nll_loss(model.stateful->forward(x.to(device)), y.to(device)).item<double>();
    ++batches;
  }
  return batches == 0 ? 0.0 : total / static_cast<double>(batches);
}

FitResult fit(LessonModel& model, LanguageModelData& md, int64_t epochs, torch::optim::Optimizer& opt,
              const std::vector<FitObserver*>& observers, FitState state, const torch::Device& device) {
  const int64_t nb = md.trn_dl.size();
  for (auto* o : observers) o->on_fit_begin(state, epochs, nb);
  // Observers always see a state that resumes exactly where training is.
  while (state.epoch < epochs) {
    model.module->train();
    md.trn_dl.set_position({state.row, state.batch});  // (0, 0) at an epoch's start: __iter__
    for (;;) {
      if (any_stop(observers)) return {false, state};
      const auto batch = md.trn_dl.next();
      if (!batch) break;
      const double lr = current_lr(opt);
      const double l = train_batch(model, *batch, opt, device, state);
      state.batch = md.trn_dl.position().iter;
      state.row = md.trn_dl.position().i;
      state.record_loss(l);
      for (auto* o : observers) o->on_batch_end({state, epochs, nb, l, lr});
    }
    const EpochRow row{state.epoch, state.smoothed(), validate(model, md.val_dl, device)};
    state.rows.push_back(row);
    ++state.epoch;
    state.batch = 0;
    state.row = 0;
    for (auto* o : observers) o->on_epoch_end(row, state);
  }
  return {true, state};
}

}  // namespace charnn
