// The four stateful models of the lesson's second half against their Python twin
// (notebooks-ref/lesson6.py): the shapes the notebook's sizes give, the state_dict names, and
// a replay of three training batches with the state carried, a batch-size change and two
// get_next windows, every output, loss, gradient, Adam step and state compared. The reference
// files come from notebooks-ref/export_stateful_reference.py (the python_reference fixture).
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "common/error.h"
#include "models/char_seq_stateful_gru.h"
#include "models/char_seq_stateful_lstm.h"
#include "models/char_seq_stateful_rnn.h"
#include "models/char_seq_stateful_rnn2.h"
#include "models/registry.h"
#include "models/stateful.h"
#include "reference.h"
#include "train/adam.h"
#include "train/io/checkpoint.h"
#include "train/io/config_file.h"
#include "train/loss.h"
#include "common/threads.h"
#include "model_table.h"

using namespace charnn;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

// One model seen both ways: as a module (parameters, train/eval) and through the interface
// the trainer and generation use.
struct Stateful {
  std::shared_ptr<torch::nn::Module> module;
  std::shared_ptr<StatefulModel> model;
};

template <typename Holder>
Stateful hold(Holder holder) {
  return {holder.ptr(), holder.ptr()};
}

struct Sizes {
  int64_t vocab_size, n_fac, bs, n_hidden, nl = 2;
  double dropout = 0.5;
};

// How each stateful model of the registry is built without the registry: at given sizes, and
// as the notebook builds it (its own n_hidden, for bs 512). The registry test below holds the
// registry's make_model to these. A registered stateful model without an entry fails by name,
// so a new one cannot pass these tests by being left out of them.
struct Direct {
  std::string notebook_class;
  std::function<Stateful(const Sizes&)> make;
  std::function<Stateful()> notebook;
};

const test::ModelTable<Direct>& direct_table() {
  static const test::ModelTable<Direct> table = {
      {"char-seq-stateful-rnn",
       {"CharSeqStatefulRnn",
        [](const Sizes& s) { return hold(CharSeqStatefulRnn(s.vocab_size, s.n_fac, s.bs, s.n_hidden)); },
        [] { return hold(CharSeqStatefulRnn(56, 42, 512)); }}},
      {"char-seq-stateful-rnn2",
       {"CharSeqStatefulRnn2",
        [](const Sizes& s) { return hold(CharSeqStatefulRnn2(s.vocab_size, s.n_fac, s.bs, s.n_hidden)); },
        [] { return hold(CharSeqStatefulRnn2(56, 42, 512)); }}},
      {"char-seq-stateful-gru",
       {"CharSeqStatefulGRU",
        [](const Sizes& s) { return hold(CharSeqStatefulGRU(s.vocab_size, s.n_fac, s.bs, s.n_hidden)); },
        [] { return hold(CharSeqStatefulGRU(56, 42, 512)); }}},
      {"char-seq-stateful-lstm",
       {"CharSeqStatefulLSTM",
        [](const Sizes& s) {
          return hold(CharSeqStatefulLSTM(s.vocab_size, s.n_fac, s.bs, s.nl, s.n_hidden, s.dropout));
        },
        [] { return hold(CharSeqStatefulLSTM(56, 42, 512, 2)); }}},
  };
  return table;
}

const Direct& direct(std::string_view name) {
  return test::model_entry(direct_table(), name, "direct_table() of tests/test_stateful_models.cpp",
                           "add how the notebook builds it");
}

// The registry's stateful models, in its order.
std::vector<const ModelSpec*> stateful_specs() {
  std::vector<const ModelSpec*> specs;
  for (const auto& spec : model_registry()) {
    if (spec.is_stateful()) specs.push_back(&spec);
  }
  return specs;
}

const json& manifest() { return test::reference_json("stateful", "stateful.json"); }

std::map<std::string, at::Tensor> reference(const json& entry) {
  return test::reference_tensors("stateful", entry["file"].get<std::string>());
}

// The exported case of each registered stateful model (fails naming a model the export lacks).
std::vector<json> stateful_cases() {
  std::vector<json> cases;
  for (const auto* spec : stateful_specs()) {
    for (auto& c : test::cases_of(test::kStatefulCases, spec->name)) cases.push_back(std::move(c));
  }
  return cases;
}

// What the exporter computed at the notebook's sizes for one class.
const json& notebook_shapes(const std::string& cls) {
  const auto& models = manifest()["shapes"]["models"];
  if (!models.contains(cls)) {
    FAIL(fmt::format("stateful/stateful.json has no shapes for {}: notebooks-ref/export_stateful_reference.py "
                     "must build every stateful model",
                     cls));
  }
  return models[cls];
}

// The C++ model holding exactly the weights the Python model started from.
Stateful python_initialised_stateful(const json& c) {
  Sizes s{c["vocab_size"].get<int64_t>(), c["n_fac"].get<int64_t>(), c["bs"].get<int64_t>(),
          c["n_hidden"].get<int64_t>()};
  if (c.contains("nl")) s.nl = c["nl"].get<int64_t>();
  if (c.contains("dropout")) s.dropout = c["dropout"].get<double>();
  auto m = direct(c["case"].get<std::string>()).make(s);
  load_state_dict(*m.module, test::reference_file("stateful", c["files"]["state_dict"].get<std::string>()));
  return m;
}

std::vector<std::vector<int64_t>> state_shapes(const StatefulModel& m) {
  std::vector<std::vector<int64_t>> out;
  for (const auto& t : m.state()) out.push_back(t.sizes().vec());
  return out;
}

double state_diff(const StatefulModel& m, const std::map<std::string, at::Tensor>& ref) {
  const auto state = m.state();
  double diff = 0.0;
  for (size_t i = 0; i < state.size(); ++i) {
    diff = std::max(diff, test::max_abs_diff(state[i], ref.at(fmt::format("state.{}", i))));
  }
  CHECK(ref.count(fmt::format("state.{}", state.size())) == 0);
  return diff;
}

}  // namespace

TEST_CASE("models: stateful models' output and state shapes at the notebook's sizes", "[python][models][stateful]") {
  const auto& shapes = manifest()["shapes"];
  const int64_t bs = shapes["bs"].get<int64_t>(), bptt = shapes["bptt"].get<int64_t>();
  for (const auto* spec : stateful_specs()) {
    INFO(spec->name);
    const auto& expected = notebook_shapes(std::string(spec->notebook_class));
    auto m = direct(spec->name).notebook();
    m.module->eval();
    torch::NoGradGuard no_grad;
    const auto out = m.model->forward(torch::randint(0, 56, {bptt, bs}, torch::kInt64));
    CHECK(out.sizes().vec() == test::shape_of(expected["output"]));
    CHECK(out.sizes().vec() == std::vector<int64_t>{8 * 64, 56});
    CHECK(state_shapes(*m.model) == expected["state"].get<std::vector<std::vector<int64_t>>>());
    // get_next: one (8, 1) window, which re-initialises the state for a batch of 1.
    const auto window = m.model->forward(torch::randint(0, 56, {8, 1}, torch::kInt64));
    CHECK(window.sizes().vec() == test::shape_of(expected["window_output"]));
    CHECK(state_shapes(*m.model) == expected["window_state"].get<std::vector<std::vector<int64_t>>>());
  }
}

TEST_CASE("models: stateful models' parameters are Python's state_dict keys, and the state is not one of them",
          "[python][models][stateful]") {
  for (const auto& c : stateful_cases()) {
    INFO(c["case"].get<std::string>());
    auto m = python_initialised_stateful(c);
    std::vector<std::string> keys, buffers, saved;
    for (const auto& item : m.module->named_parameters()) keys.push_back(item.key());
    for (const auto& item : m.module->named_buffers()) buffers.push_back(item.key());
    CHECK(keys == c["parameters"].get<std::vector<std::string>>());
    CHECK(buffers == c["buffers"].get<std::vector<std::string>>());
    CHECK(buffers.empty());
    for (const auto& [key, tensor] : test::reference_tensors("stateful", c["files"]["state_dict"].get<std::string>())) {
      saved.push_back(key);
    }
    std::sort(keys.begin(), keys.end());
    CHECK(keys == saved);
  }
}

TEST_CASE("models: stateful models replay Python's batches, Adam steps, batch-size change and get_next windows",
          "[python][models][stateful][parity]") {
  for (const auto& c : stateful_cases()) {
    const auto name = c["case"].get<std::string>();
    INFO(name);
    auto m = python_initialised_stateful(c);
    // The exporter runs on one thread; so does this, so that no sum is cut differently (the
    // LSTM's gradients differ in the last bits otherwise, and Adam at lr 1e-2 magnifies them).
    const ScopedThreads one_thread({1, -1});
    Adam opt(m.module->parameters(), torch::optim::AdamOptions(c["lr"].get<double>())
                                         .weight_decay(c["weight_decay"].get<double>()));
    // The exporter reseeds torch's global generator here; the LSTM's dropout draws from it.
    torch::manual_seed(manifest()["dropout_seed"].get<uint64_t>());
    m.module->train();
    double out_diff = 0, loss_diff = 0, grad_diff = 0, weight_diff = 0, h_diff = 0;
    for (const auto& step : c["files"]["steps"]) {
      const auto ref = reference(step);
      INFO("step " << step["file"].get<std::string>());
      auto out = m.model->forward(ref.at("xs"));
      opt.zero_grad();
      auto loss = torch::nll_loss(out, ref.at("y"));
      loss.backward();
      opt.step();
      out_diff = std::max(out_diff, test::max_abs_diff(out, ref.at("out")));
      loss_diff = std::max(loss_diff, test::max_abs_diff(loss, ref.at("loss")));
      h_diff = std::max(h_diff, state_diff(*m.model, ref));
      for (const auto& item : m.module->named_parameters()) {
        INFO(item.key());
        const auto g = test::max_abs_diff(item.value().grad(), ref.at("grad." + item.key()));
        const auto w = test::max_abs_diff(item.value(), ref.at("updated." + item.key()));
        CHECK(g <= test::kParityTolerance);
        CHECK(w <= test::kParityTolerance);
        grad_diff = std::max(grad_diff, g);
        weight_diff = std::max(weight_diff, w);
      }
    }
    CHECK(test::report("4 batches: outputs", name, out_diff) <= test::kParityTolerance);
    CHECK(test::report("4 batches: losses", name, loss_diff) <= test::kParityTolerance);
    CHECK(test::report("4 batches: states", name, h_diff) <= test::kParityTolerance);
    test::report("4 Adam steps: gradients", name, grad_diff);
    test::report("4 Adam steps: updated weights", name, weight_diff);

    m.module->eval();
    torch::NoGradGuard no_grad;
    double eval_diff = 0;
    for (const auto& call : c["files"]["eval"]) {
      const auto ref = reference(call);
      eval_diff = std::max(eval_diff, test::max_abs_diff(m.model->forward(ref.at("xs")), ref.at("out")));
      eval_diff = std::max(eval_diff, state_diff(*m.model, ref));
    }
    CHECK(test::report("eval (8, 1) windows", name, eval_diff) <= test::kParityTolerance);
  }
}

TEST_CASE("models: a stateful model's backward stops at the state the last batch left", "[models][stateful]") {
  for (const auto* spec : stateful_specs()) {
    INFO(spec->name);
    torch::manual_seed(1);
    auto m = direct(spec->name).make({10, 4, 3, 5});
    // Token 1 appears only in the first batch: if the state still led back into that batch,
    // the second batch's loss would have a gradient on e.weight[1].
    const auto first = torch::full({4, 3}, 1, torch::kInt64);
    const auto second = torch::randint(2, 10, {5, 3}, torch::kInt64);
    m.model->forward(first);
    for (const auto& h : m.model->state()) {
      CHECK_FALSE(h.requires_grad());
      CHECK(h.abs().sum().item<double>() > 0);  // the first batch did leave a state
    }
    auto loss = torch::nll_loss(m.model->forward(second), torch::randint(0, 10, {5 * 3}, torch::kInt64));
    loss.backward();
    const auto grad = m.module->named_parameters()["e.weight"].grad();
    CHECK(grad[1].abs().max().item<double>() == 0.0);
    CHECK(grad.slice(0, 2).abs().sum().item<double>() > 0);
  }
}

TEST_CASE("models: a stateful model carries its state, restarts it for a new batch size, and restores a saved one",
          "[models][stateful]") {
  for (const auto* spec : stateful_specs()) {
    INFO(spec->name);
    torch::manual_seed(2);
    auto m = direct(spec->name).make({10, 4, 3, 5});
    m.module->eval();  // no dropout: equal inputs and states give equal outputs
    torch::NoGradGuard no_grad;
    const auto a = torch::randint(0, 10, {4, 3}, torch::kInt64), b = torch::randint(0, 10, {6, 3}, torch::kInt64);

    m.model->forward(a);
    const auto after_a = m.model->state();
    const auto carried = m.model->forward(b);
    m.model->reset_state(3);
    const auto from_zero = m.model->forward(b);
    CHECK_FALSE(torch::allclose(carried, from_zero));

    m.model->set_state(after_a);  // put the state aside and back, as generation mid-training does
    CHECK(torch::equal(m.model->forward(b), carried));

    // A batch of 2 cannot continue the state of a batch of 3: forward starts it from zeros.
    const auto c = torch::randint(0, 10, {5, 2}, torch::kInt64);
    const auto changed = m.model->forward(c);
    m.model->reset_state(2);
    CHECK(torch::equal(m.model->forward(c), changed));
  }
}

TEST_CASE("models: CharSeqStatefulLSTM's dropout is active in train mode only", "[models][stateful]") {
  torch::manual_seed(3);
  CharSeqStatefulLSTM m(10, 4, 3, 2, 8);
  const auto cs = torch::randint(0, 10, {6, 3}, torch::kInt64);
  auto twice = [&] {
    m->reset_state(3);
    auto first = m->forward(cs);
    m->reset_state(3);
    return std::make_pair(first, m->forward(cs));
  };
  torch::NoGradGuard no_grad;
  const auto [train1, train2] = twice();
  CHECK_FALSE(torch::allclose(train1, train2));
  m->eval();
  const auto [eval1, eval2] = twice();
  CHECK(torch::equal(eval1, eval2));
}

TEST_CASE("models: stateful models reject a bad state with one error naming the model", "[models][stateful]") {
  for (const auto* spec : stateful_specs()) {
    INFO(spec->name);
    const std::string cls(spec->notebook_class);
    auto m = direct(spec->name).make({10, 4, 3, 5});

    const auto before = m.model->state();
    auto wrong = before;
    wrong[0] = torch::zeros({7}, torch::kFloat32);
    CHECK_THROWS_WITH(m.model->set_state(wrong), Contains(cls + ": the state must be") && Contains("tensor 0 is Float [7]"));
    CHECK_THROWS_WITH(m.model->set_state({}), Contains("got 0 tensor(s)"));
    if (before.size() == 2) {
      wrong = {before[0], torch::zeros({2, 4, 5})};  // h and c of different batch sizes
      CHECK_THROWS_WITH(m.model->set_state(wrong), Contains("tensor 1 is Float [2, 4, 5]"));
    }
    const auto after = m.model->state();
    for (size_t i = 0; i < before.size(); ++i) CHECK(torch::equal(before[i], after[i]));
  }
}

TEST_CASE("registry: the stateful models by their CLI names are the notebook's classes at the notebook's sizes",
          "[python][models][stateful][registry]") {
  const auto& shapes = manifest()["shapes"];
  const int64_t bs = shapes["bs"].get<int64_t>(), bptt = shapes["bptt"].get<int64_t>();
  for (const auto* stateful : stateful_specs()) {
    const auto& spec = *stateful;
    INFO(spec.name);
    const auto& table = direct(spec.name);
    CHECK(spec.notebook_class == table.notebook_class);
    CHECK(spec.layout == Layout::LanguageModel);
    CHECK(spec.loss == LossKind::Nll);
    CHECK_FALSE(spec.has_identity_init);
    ModelConfig config;
    config.model = std::string(spec.name);
    config.vocab_size = 56;
    config.n_hidden = spec.lesson_n_hidden;
    auto built = make_model(config);
    REQUIRE(built.stateful);
    CHECK_FALSE(built.window_recurrence);
    auto direct = table.notebook();
    std::vector<std::pair<std::string, std::vector<int64_t>>> ours, theirs;
    for (const auto& p : built.module->named_parameters()) ours.emplace_back(p.key(), p.value().sizes().vec());
    for (const auto& p : direct.module->named_parameters()) theirs.emplace_back(p.key(), p.value().sizes().vec());
    CHECK(ours == theirs);
    CHECK(state_shapes(*built.stateful) == state_shapes(*direct.model));

    // The registry's forward and the interface are one module: the state the first leaves is
    // the one the second sees. F.nll_loss on (sl*bs, nt) against the flattened targets.
    built.module->eval();
    torch::NoGradGuard no_grad;
    const auto cs = torch::randint(0, 56, {bptt, bs}, torch::kInt64);
    const auto out = built.forward(cs);
    const auto& expected = notebook_shapes(table.notebook_class);
    CHECK(out.sizes().vec() == test::shape_of(expected["output"]));
    CHECK(state_shapes(*built.stateful) == expected["state"].get<std::vector<std::vector<int64_t>>>());
    const auto y = torch::randint(0, 56, {bptt * bs}, torch::kInt64);
    CHECK(lesson_loss(spec.loss, out, y).item<double>() == torch::nll_loss(out, y).item<double>());
  }
}

TEST_CASE("registry: a stateful model's bs, nl and dropout reach its constructor and config.json",
          "[models][stateful][registry]") {
  ModelConfig config;
  config.model = "char-seq-stateful-lstm";
  config.vocab_size = 10;
  config.n_fac = 4;
  config.n_hidden = 6;
  config.bs = 3;
  config.nl = 3;
  config.dropout = 0.25;
  auto m = make_model(config);
  CHECK(state_shapes(*m.stateful) == std::vector<std::vector<int64_t>>{{3, 3, 6}, {3, 3, 6}});
  CHECK(m.module->named_parameters().contains("rnn.weight_hh_l2"));

  config.dropout = 1;
  CHECK_THROWS_WITH(make_model(config), Contains("dropout in [0, 1)"));
  config.dropout = 0.25;
  config.bs = 0;
  CHECK_THROWS_WITH(make_model(config), Contains("bs and nl must be >= 1"));
  config.bs = 3;

  test::TempDir dir("stateful-config");
  RunConfig run;
  run.model = config;
  run.schedule = {{1, 1e-3}};
  run.shards = 1;
  run.vocab = {"<unk>", "<pad>", "a", "b", "c", "d", "e", "f", "g", "h"};  // a stateful run's vocabulary: torchtext's itos
  run.trn_batches = run.trn_rows = 1;
  write_run_config(dir.path(), run);
  const auto back = read_run_config(dir.path()).model;
  CHECK(back.bs == 3);
  CHECK(back.nl == 3);
  CHECK(back.dropout == 0.25);
}
