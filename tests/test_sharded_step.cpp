// A batch cut across threads must give the plain step's loss and gradients, up to the order
// of floating-point sums, for every registered model whose batches shard; and one shard must be
// the plain step.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "data/corpus.h"
#include "data/layouts.h"
#include "data/loader.h"
#include "data/split.h"
#include "models/registry.h"
#include "support.h"
#include "train/fit.h"
#include "train/families/windows.h"
#include "train/sharded_step.h"
#include "common/threads.h"
#include "data/lesson_data.h"
#include "model_table.h"

using namespace charnn;

namespace {

struct Setup {
  LessonModel model;
  LossKind loss;
  ModelData md;
};

Setup setup(const std::string& name, bool identity, int64_t chars = 60000) {
  const auto corpus = truncate_corpus(load_corpus(test::nietzsche_path()), chars);
  const auto& spec = find_model(name);
  const int64_t cs = default_window(spec.layout);
  auto md = lesson_data(corpus, spec.layout, cs);
  torch::manual_seed(0);
  return {make_model({name, corpus.vocab.size(), 42, 256, identity}), spec.loss, std::move(md)};
}

std::vector<torch::Tensor> grads_of(LessonModel& model) {
  std::vector<torch::Tensor> out;
  for (const auto& p : model.module->parameters()) out.push_back(p.grad().clone());
  return out;
}

double max_abs_diff(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, (a[i] - b[i]).abs().max().item<double>());
  return worst;
}

// How each registered model's step may be cut, as these tests expect it. A model without an
// entry fails by name, so whoever registers one says whether its batches shard.
struct Sharding {
  bool shards;                 // its batches are cut across threads
  bool from_identity = false;  // also checked from identity init, as the notebook trains it
};

const test::ModelTable<Sharding>& sharding_table() {
  // The stateful models' state runs through all bs columns of a batch: their family trains
  // with the plain step (train/families/language_model.cpp).
  static const test::ModelTable<Sharding> table = {
      {"char3-model", {true}},
      {"char-loop-model", {true}},
      {"char-loop-concat-model", {true}},
      {"char-rnn", {true}},
      {"char-seq-rnn", {true, true}},
      {"char-seq-stateful-rnn", {false}},
      {"char-seq-stateful-rnn2", {false}},
      {"char-seq-stateful-gru", {false}},
      {"char-seq-stateful-lstm", {false}},
  };
  return table;
}

const Sharding& sharding_of(std::string_view name) {
  return test::model_entry(sharding_table(), name, "sharding_table() of tests/test_sharded_step.cpp",
                           "say whether its batches shard");
}

}  // namespace

TEST_CASE("sharded step: loss and gradients equal the plain step's for every model", "[train][sharded]") {
  struct Case {
    std::string model;
    bool identity;
  };
  std::vector<Case> cases;
  for (const auto& spec : model_registry()) {
    const auto& sharding = sharding_of(spec.name);
    if (sharding.shards) cases.push_back({std::string(spec.name), false});
    if (sharding.shards && sharding.from_identity) cases.push_back({std::string(spec.name), true});
  }
  for (const auto& c : cases) {
    for (const int shards : {2, 3}) {
      SECTION(c.model + (c.identity ? " identity" : "") + ", " + std::to_string(shards) + " shards") {
        auto s = setup(c.model, c.identity);
        s.model.module->train();
        const auto order = s.md.trn_dl.epoch_order();
        const auto batch = s.md.trn_dl.batch(order, 0);
        REQUIRE(batch.size() == 512);

        ShardedStep plain(1);
        const double plain_loss = plain.loss_and_grads(s.model, s.loss, batch, torch::kCPU);
        const auto plain_grads = grads_of(s.model);
        ShardedStep sharded(shards);
        const double sharded_loss = sharded.loss_and_grads(s.model, s.loss, batch, torch::kCPU);
        const auto sharded_grads = grads_of(s.model);

        // The untrained loss is ~ln(85); gradients are up to ~0.1.
        CHECK(plain_loss > 4.0);
        CHECK(std::abs(sharded_loss - plain_loss) <= 1e-6 * plain_loss);
        CHECK(max_abs_diff(plain_grads, sharded_grads) <= 1e-6);
        double largest = 0;
        for (const auto& g : plain_grads) largest = std::max(largest, g.abs().max().item<double>());
        CHECK(largest > 1e-3);  // the comparison above compared real gradients

        s.model.module->eval();
        const auto val = s.md.val_dl.batch(s.md.val_dl.epoch_order(), 0);
        CHECK(std::abs(sharded.loss(s.model, s.loss, val, torch::kCPU) -
                       plain.loss(s.model, s.loss, val, torch::kCPU)) <= 1e-6 * plain_loss);
      }
    }
  }
}

TEST_CASE("sharded step: uneven and tiny batches", "[train][sharded]") {
  auto s = setup("char-seq-rnn", false);
  s.model.module->train();
  const auto full = s.md.trn_dl.batch(s.md.trn_dl.epoch_order(), 0);
  for (const int64_t rows : {1, 2, 5, 7}) {
    const Batch batch{full.xs.narrow(1, 0, rows), full.y.narrow(0, 0, rows)};
    ShardedStep plain(1), sharded(4);
    const double a = plain.loss_and_grads(s.model, s.loss, batch, torch::kCPU);
    const auto ga = grads_of(s.model);
    const double b = sharded.loss_and_grads(s.model, s.loss, batch, torch::kCPU);
    INFO(rows << " rows over 4 shards");
    CHECK(std::abs(a - b) <= 1e-6 * a);
    CHECK(max_abs_diff(ga, grads_of(s.model)) <= 1e-6);
  }
}

TEST_CASE("sharded step: one shard is the plain step bit for bit", "[train][sharded]") {
  auto s = setup("char-rnn", false);
  s.model.module->train();
  const auto batch = s.md.trn_dl.batch(s.md.trn_dl.epoch_order(), 0);
  auto out = s.model.forward(batch.xs);
  auto loss = torch::nll_loss(out, batch.y);
  loss.backward();
  const auto direct = grads_of(s.model);
  ShardedStep one(1);
  CHECK(one.loss_and_grads(s.model, s.loss, batch, torch::kCPU) == loss.item<double>());
  CHECK(max_abs_diff(direct, grads_of(s.model)) == 0.0);
}

TEST_CASE("sharded fit: the losses of 40 steps follow the plain fit's", "[train][sharded]") {
  auto trajectory = [](int shards) {
    auto s = setup("char-rnn", false, 25000);
    auto opt = find_optimizer("adam").make(s.model.module->parameters(), 1e-3, 0.0);
    auto data = windowed_training(std::move(s.md), s.loss, shards);
    auto lr = LearningRate::constant(1e-3);
    struct Losses : FitObserver {
      std::vector<double> v;
      void on_batch_end(const BatchEvent& e) override { v.push_back(e.loss); }
    } losses;
    const auto result = fit(s.model, *data, 1, *opt, lr, {&losses});
    return std::make_pair(losses.v, result.state.rows.back().val_loss);
  };
  const auto [plain, plain_val] = trajectory(1);
  const auto [sharded, sharded_val] = trajectory(2);
  REQUIRE(plain.size() >= 35);
  REQUIRE(plain.size() == sharded.size());
  double worst = 0;
  for (size_t i = 0; i < plain.size(); ++i) worst = std::max(worst, std::abs(plain[i] - sharded[i]) / plain[i]);
  INFO("worst relative difference of a batch loss: " << worst);
  CHECK(worst <= 1e-5);
  CHECK(plain.back() < plain.front() - 0.5);  // it trained
  CHECK(std::abs(plain_val - sharded_val) <= 1e-5 * plain_val);
}

TEST_CASE("sharded step: threads are restored, worker errors reach the caller", "[train][sharded]") {
  const auto before = current_threads();
  {
    ShardedStep step(2);
    CHECK(current_threads().intra_op == 1);
  }
  CHECK(current_threads().intra_op == before.intra_op);
  CHECK(current_threads().blas == before.blas);

  ShardPool pool(3);
  int ran = 0;
  std::vector<std::function<void()>> jobs{[&] { ++ran; }, [] { throw std::runtime_error("shard 1 failed"); },
                                          [] {}};
  CHECK_THROWS_WITH(pool.run(jobs), "shard 1 failed");
  CHECK(ran == 1);
  std::vector<int> seen(3, 0);
  pool.run({[&] { seen[0] = 1; }, [&] { seen[1] = 1; }, [&] { seen[2] = 1; }});  // usable after a failure
  CHECK(seen == std::vector<int>{1, 1, 1});
}

// Autograd may return one tensor as the gradient of two parameters: here w + v hands the same
// gradient to both. Summing shards in place into it would count a shard twice.
TEST_CASE("sharded step: parameters that share a gradient tensor", "[train][sharded]") {
  struct Shared : torch::nn::Module {
    torch::Tensor w = register_parameter("w", torch::randn({5}));
    torch::Tensor v = register_parameter("v", torch::randn({5}));
  };
  torch::manual_seed(3);
  auto module = std::make_shared<Shared>();
  LessonModel model;
  model.module = module;
  model.forward = [module](const torch::Tensor& xs) {
    const auto logits = (module->w + module->v).expand({xs.size(1), 5}) * xs[0].unsqueeze(1).to(torch::kFloat);
    return torch::log_softmax(logits, 1);
  };
  const Batch batch{torch::arange(1, 9).view({1, 8}), torch::tensor({0, 1, 2, 3, 4, 0, 1, 2})};
  ShardedStep plain(1), sharded(2);
  plain.loss_and_grads(model, LossKind::Nll, batch, torch::kCPU);
  const auto want = grads_of(model);
  sharded.loss_and_grads(model, LossKind::Nll, batch, torch::kCPU);
  CHECK(max_abs_diff(want, grads_of(model)) <= 1e-6);
  CHECK(want[0].abs().max().item<double>() > 1e-2);
}
