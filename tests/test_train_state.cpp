// train_state.pt's optimizer part on whichever LibTorch is built: Adam's state map is keyed
// differently across versions, and a key that finds nothing would only drop the moments.
#include <catch2/catch.hpp>

#include "reference.h"
#include "train/io/checkpoint.h"
#include "train/io/train_state.h"

using namespace charnn;

namespace {

// A windowed run's data state: the epoch's order and the loader's generator.
DataState windowed_state(const torch::Tensor& order, const torch::Tensor& generator) {
  auto state = data_state();
  state.insert("order", order);
  state.insert("generator", generator);
  return state;
}

torch::optim::Adam& adam_of(Optimizer& opt) { return static_cast<torch::optim::Adam&>(opt.torch()); }

}  // namespace

TEST_CASE("train_state: every parameter's Adam moments and step survive save and load", "[checkpoint][resume]") {
  test::TempDir dir("train_state_adam");
  torch::manual_seed(3);
  torch::nn::Linear a(3, 2), b(3, 2);
  auto adam_a = find_optimizer("adam").make(a->parameters(), 1e-2, 0.0);
  auto& opt_a = adam_of(*adam_a);
  for (int i = 0; i < 2; ++i) {
    opt_a.zero_grad();
    a(torch::randn({4, 3})).pow(2).sum().backward();
    opt_a.step();
  }
  TrainPosition pos;
  pos.fit.batch = pos.fit.batches_seen = 2;
  save_checkpoint(dir.path(), *a, "adam", *adam_a, pos,
                  windowed_state(torch::arange(4, torch::kInt64), torch::randint(0, 255, {16}, torch::kUInt8)));

  const auto saved = read_torch_file(dir / kTrainStateFile).toGenericDict();
  const auto moments = saved.at("optimizer").toGenericDict().at("state").toGenericDict();
  CHECK(moments.size() == 2);  // weight and bias: none dropped for want of its key

  auto adam_b = find_optimizer("adam").make(b->parameters(), 1e-2, 0.0);
  auto& opt_b = adam_of(*adam_b);
  const auto loaded = load_checkpoint(dir.path(), *b, "adam", *adam_b, RunShape{{1}, 2, 4});
  CHECK(torch::equal(loaded.data.at("order").toTensor(), torch::arange(4, torch::kInt64)));
  // Another optimizer's run cannot take this state.
  CHECK_THROWS_WITH(load_checkpoint(dir.path(), *b, "sgd", *adam_b, RunShape{{1}, 2, 4}),
                    Catch::Matchers::Contains("holds the state of optimizer 'adam', the run's is 'sgd'"));
  for (const auto& name : {"weight", "bias"}) {
    INFO(name);
    const auto pa = a->named_parameters()[name];  // a copy: named_parameters() returns a temporary
    const auto pb = b->named_parameters()[name];
    CHECK(torch::equal(pa, pb));
    auto find = [](torch::optim::Adam& opt, const torch::Tensor& p) -> const torch::optim::AdamParamState* {
      for (const auto& [key, state] : opt.state()) {
        auto* s = static_cast<const torch::optim::AdamParamState*>(state.get());
        if (s->exp_avg().sizes() == p.sizes() && s->exp_avg().dim() == p.dim()) return s;
      }
      return nullptr;
    };
    const auto* sa = find(opt_a, pa);
    const auto* sb = find(opt_b, pb);
    REQUIRE(sa != nullptr);
    REQUIRE(sb != nullptr);
    CHECK(sb->step() == 2);
    CHECK(torch::equal(sa->exp_avg(), sb->exp_avg()));
    CHECK(torch::equal(sa->exp_avg_sq(), sb->exp_avg_sq()));
  }
  // The loaded moments are the ones the next step uses: both optimizers step alike.
  const auto x = torch::randn({4, 3});
  for (auto* pair : {&a, &b}) {
    auto& opt = pair == &a ? opt_a : opt_b;
    opt.zero_grad();
    (*pair)(x).pow(2).sum().backward();
    opt.step();
  }
  CHECK(torch::equal(a->weight, b->weight));
  CHECK(torch::equal(a->bias, b->bias));
}

TEST_CASE("train_state: Python's torch.load reads train_state.pt and model.pt (weights_only=True from PyTorch 2)",
          "[python][checkpoint][resume]") {
  test::TempDir dir("train_state_python");
  torch::manual_seed(5);
  torch::nn::Linear lin(4, 3);
  auto adam = find_optimizer("adam").make(lin->parameters(), 1e-2, 0.0);
  auto& opt = adam_of(*adam);
  for (int i = 0; i < 3; ++i) {
    opt.zero_grad();
    lin(torch::randn({6, 4})).pow(2).sum().backward();
    opt.step();
  }
  TrainPosition pos;
  pos.fit.batch = pos.fit.batches_seen = 3;
  const auto order = torch::randperm(6, torch::kInt64);
  const auto generator = torch::randint(0, 255, {16}, torch::kUInt8);
  save_checkpoint(dir.path(), *lin, "adam", *adam, pos, windowed_state(order, generator));

  const auto run = test::run_python("read_train_state.py", {"--run", dir.path().string(),
                                                            "--out", (dir / "seen.pt").string()});
  INFO(run.output);
  REQUIRE(run.status == 0);
  const auto seen = read_tensor_dict(dir / "seen.pt");
  CHECK(torch::equal(seen.at("generator"), generator));
  CHECK(torch::equal(seen.at("order"), order));
  CHECK(seen.at("batch").item<int64_t>() == 3);
  REQUIRE(opt.state().size() == 2);
  for (const auto& item : lin->named_parameters()) {
    INFO(item.key());
    CHECK(torch::equal(seen.at("model." + item.key()), item.value()));
    for (const auto& [key, state] : opt.state()) {
      const auto& s = static_cast<const torch::optim::AdamParamState&>(*state);
      if (s.exp_avg().sizes() != item.value().sizes()) continue;
      CHECK(torch::equal(seen.at(item.key() + ".exp_avg"), s.exp_avg()));
      CHECK(torch::equal(seen.at(item.key() + ".exp_avg_sq"), s.exp_avg_sq()));
      CHECK(seen.at(item.key() + ".step").item<int64_t>() == s.step());
    }
  }
}
