// The fused layers as the run uses them (models/fused/fast_paths.h): each model's fused forward
// against its own plain one, from the same weights on the lesson's data, through the same
// family and fit loop the run uses: one batch's outputs and every gradient, then 50 steps of
// training (the LSTM with its dropout, whose masks are the plain layer's).
#include <catch2/catch.hpp>

#include <cmath>

#include "common/threads.h"
#include "data/lesson_data.h"
#include "models/fused/fast_paths.h"
#include "support.h"
#include "train/families/family.h"
#include "train/fit.h"

using namespace charnn;

namespace {

constexpr double kFastStepTolerance = 1e-5;        // one batch: outputs and gradients, relative
constexpr double kFastTrajectoryTolerance = 1e-4;  // 50 steps: every loss, relative
// The weights after them, relative to each tensor's largest: Adam moves a weight whose gradient
// is near zero by about lr whichever its sign, so a last-place difference in such a gradient
// shows here first (measured: up to 1.5e-4 for the tanh RNNs, 2e-5 for the LSTM).
constexpr double kFastWeightTolerance = 1e-3;
constexpr int64_t kFastSteps = 50;

double relative_to(const torch::Tensor& a, const torch::Tensor& b) {
  const double scale = b.abs().max().item<double>();
  const double diff = (a - b).abs().max().item<double>();
  return scale > 0 ? diff / scale : diff;
}

struct FastTrained {
  std::vector<double> losses;
  LessonModel model;
};

struct StepLosses : FitObserver {
  void on_batch_end(const BatchEvent& e) override { losses.push_back(e.loss); }
  bool stop_requested() override { return static_cast<int64_t>(losses.size()) >= kFastSteps; }
  std::vector<double> losses;
};

// The model's family's data at the lesson's sizes, one shard; config gets the vocabulary.
std::unique_ptr<TrainingData> lesson_sized(const ModelSpec& spec, const Corpus& text, RunConfig& config) {
  config.model.model = std::string(spec.name);
  config.model.n_hidden = spec.lesson_n_hidden;
  config.bs = spec.lesson_bs;
  config.shards = 1;
  config.text = text.name;
  return family_of(spec).prepare(text, config, torch::kCPU, local_shard());
}

// kFastSteps steps of the run's own fit, from seed 0's weights, fused or plain.
FastTrained train_steps(const ModelSpec& spec, const Corpus& text, bool fused) {
  RunConfig config;
  auto data = lesson_sized(spec, text, config);
  torch::manual_seed(0);
  auto model = make_model(config.model);
  if (fused) REQUIRE(fused::use_fused_layers(model));
  auto opt = find_optimizer("adam").make(model.module->parameters(), 1e-3, 0.0);
  auto lr = LearningRate::constant(1e-3);
  StepLosses losses;
  fit(model, *data, 100, *opt, lr, {&losses});  // stopped after kFastSteps, however short the epochs
  return {losses.losses, std::move(model)};
}

}  // namespace

TEST_CASE("fast paths: each model's fused forward follows its plain one for 50 steps of the run's fit",
          "[fused][fast_paths]") {
  const auto text = truncate_corpus(load_corpus(test::nietzsche_path()), 60000);
  const ScopedThreads one_thread({1, -1});
  int fused_models = 0;
  for (const auto& spec : model_registry()) {
    if (!fused::has_fused_forward(spec.name)) continue;
    ++fused_models;
    INFO(spec.name);
    const auto plain = train_steps(spec, text, false);
    const auto fused = train_steps(spec, text, true);
    REQUIRE(plain.losses.size() == static_cast<size_t>(kFastSteps));
    REQUIRE(fused.losses.size() == plain.losses.size());
    double worst = 0;
    for (size_t i = 0; i < plain.losses.size(); ++i) {
      worst = std::max(worst, std::abs(fused.losses[i] - plain.losses[i]) / plain.losses[i]);
    }
    CHECK(worst <= kFastTrajectoryTolerance);
    double worst_weight = 0;
    const auto fused_params = fused.model.module->named_parameters();
    for (const auto& item : plain.model.module->named_parameters()) {
      worst_weight = std::max(worst_weight, relative_to(fused_params[item.key()], item.value()));
    }
    CHECK(worst_weight <= kFastWeightTolerance);
    WARN(spec.name << ": 50 steps, worst relative loss difference " << worst << ", weights " << worst_weight);
  }
  CHECK(fused_models == 6);  // char-rnn, char-seq-rnn and the four stateful models
}

TEST_CASE("fast paths: one batch's log-probabilities and every gradient equal the plain forward's",
          "[fused][fast_paths]") {
  const auto text = truncate_corpus(load_corpus(test::nietzsche_path()), 60000);
  for (const auto& spec : model_registry()) {
    if (!fused::has_fused_forward(spec.name)) continue;
    INFO(spec.name);
    RunConfig config;
    auto data = lesson_sized(spec, text, config);
    data->start_epoch();
    const auto batch = *data->next_batch();
    torch::manual_seed(0);
    auto plain = make_model(config.model);
    torch::manual_seed(0);
    auto fused = make_model(config.model);
    REQUIRE(fused::use_fused_layers(fused));
    // Eval mode: the LSTM's dropout is the only randomness, and the trajectory test covers it.
    plain.module->eval();
    fused.module->eval();
    const auto out_plain = plain.forward(batch.xs), out_fused = fused.forward(batch.xs);
    CHECK(relative_to(out_fused, out_plain) <= kFastStepTolerance);
    out_plain.exp().mul(out_plain).sum().backward();
    out_fused.exp().mul(out_fused).sum().backward();
    const auto fused_params = fused.module->named_parameters();
    for (const auto& item : plain.module->named_parameters()) {
      INFO(item.key());
      CHECK(relative_to(fused_params[item.key()].grad(), item.value().grad()) <= kFastStepTolerance);
    }
  }
}
