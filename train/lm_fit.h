#pragma once
// fastai 0.7's fit over LanguageModelData, the loop of the notebook's stateful cells. Each
// batch x (sl, bs) goes through the model's forward, which starts from the state the previous
// call left (detached) and carries its new state to the next call, and F.nll_loss scores it
// against y (sl*bs,). Nothing resets the state: it carries across batches, epochs, from
// training to validation and back, and across fit calls, as none of the notebook's models has
// the reset() fastai would call. The bookkeeping (smoothed loss, rows, observers) is fit.h's.
#include <torch/torch.h>

#include <vector>

#include "data/language_model_data.h"
#include "train/fit.h"

namespace charnn {

// Plain mean of F.nll_loss over the loader's batches, in eval mode (no dropout) without
// autograd. It draws its sequence lengths from the same numpy stream as training.
double validate(LessonModel& model, LanguageModelLoader& dl, const torch::Device& device = torch::kCPU);

// The progress observers see len(md.trn_dl) as the batches per epoch, as fastai's bar does; an
// epoch ends when the loader runs out of rows, usually a few dozen batches earlier.
// resume_from.batch and .row put the training loader back where an interrupted epoch stood.
// Throws NonFiniteLoss (naming epoch and batch) before the step that would apply a NaN or
// infinite loss.
FitResult fit(LessonModel& model, LanguageModelData& md, int64_t epochs, torch::optim::Optimizer& opt,
              const std::vector<FitObserver*>& observers = {}, FitState resume_from = {},
              const torch::Device& device = torch::kCPU);

}  // namespace charnn
