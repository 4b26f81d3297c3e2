// The five lesson models against their Python twin (notebooks-ref/lesson6.py): the shapes
// the notebook prints, the state_dict names, and bit-level parity of one forward pass and one
// Adam step from the same weights on the same batch, for every windowed model of the registry.
// The reference files are part "models" of notebooks-ref/export.py (export_reference.py).
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "data/corpus.h"
#include "data/layouts.h"
#include "data/lesson_data.h"
#include "data/loader.h"
#include "models/char_seq_rnn.h"
#include "models/model_size.h"
#include "models/registry.h"
#include "reference.h"
#include "support.h"
#include "train/adam.h"
#include "train/io/checkpoint.h"
#include "train/loss.h"

using namespace charnn;
using nlohmann::json;

namespace {

const json& reference() { return test::reference_json("models", "reference.json"); }

std::map<std::string, at::Tensor> case_tensors(const json& test_case, const char* kind) {
  return test::reference_tensors("models", test_case["files"][kind].get<std::string>());
}

// Every case of every windowed model, in the registry's order. The stateful models are
// test_stateful_models.cpp's, against their own export.
std::vector<json> windowed_cases() {
  std::vector<json> all;
  for (const auto& spec : model_registry()) {
    if (spec.is_stateful()) continue;
    for (auto& test_case : test::cases_of(test::kWindowedCases, spec.name)) all.push_back(std::move(test_case));
  }
  return all;
}

ModelConfig config_of(const json& test_case, bool identity_init) {
  ModelConfig config;
  config.model = test_case["model"].get<std::string>();
  config.vocab_size = reference()["vocab_size"].get<int64_t>();
  config.n_fac = reference()["n_fac"].get<int64_t>();
  config.n_hidden = reference()["n_hidden"].get<int64_t>();
  config.identity_init = identity_init;
  return config;
}

// The C++ model holding exactly the weights the Python model started from.
LessonModel python_initialised(const json& test_case) {
  auto model = make_model(config_of(test_case, false));
  load_state_dict(*model.module,
                  test::reference_file("models", test_case["files"]["state_dict"].get<std::string>()));
  return model;
}

}  // namespace

TEST_CASE("models: output shapes equal the Python models' at the lesson's batch of 512", "[python][models]") {
  const auto& shapes = reference()["shapes"];
  const int64_t bs = shapes["bs"].get<int64_t>();
  for (const auto& spec : model_registry()) {
    if (spec.is_stateful()) continue;  // test_stateful_models.cpp, at the notebook's sizes
    INFO(spec.name);
    if (!shapes["models"].contains(std::string(spec.name))) {
      FAIL(fmt::format("{} is registered, but the Python reference has no shapes for it (notebooks-ref/"
                       "export_reference.py builds every windowed model of lesson6.MODELS)",
                       spec.name));
    }
    const auto& expected = shapes["models"][std::string(spec.name)];
    ModelConfig config;
    config.model = std::string(spec.name);
    auto model = make_model(config);
    auto xs = torch::randint(0, config.vocab_size, {default_window(spec.layout), bs}, torch::kInt64);
    CHECK(test::shape_of(xs) == test::shape_of(expected["input"]));
    torch::NoGradGuard no_grad;
    CHECK(test::shape_of(model.forward(xs)) == test::shape_of(expected["output"]));
  }
}

// The notebook's multi-output cell, run on the project's own pieces: the first training batch
// of the lesson's loader, CharSeqRnn's submodules and forward, and nll_loss_seq.
TEST_CASE("models: the multi-output cell's shapes, from the lesson's loader through CharSeqRnn",
          "[python][models]") {
  const auto& notebook = reference()["shapes"]["notebook"];
  const auto corpus = load_corpus(test::nietzsche_path());
  auto md = lesson_data(corpus, Layout::Sequences, 8, 512, 0);
  const auto batch = md.trn_dl.batch(md.trn_dl.epoch_order(), 0);  // *xst, yt = next(iter(md.trn_dl))
  CHECK(test::shape_of(batch.xs) == std::vector<int64_t>{8, 512});
  CHECK(test::shape_of(batch.y) == std::vector<int64_t>{512, 8});
  CharSeqRnn m(corpus.vocab.size(), 42, 256);
  torch::NoGradGuard no_grad;
  auto t = m->e(batch.xs);  // m.e(V(torch.stack(xst)))
  auto [outp, hn] = m->rnn(t, torch::zeros({1, 512, 256}));
  CHECK(test::shape_of(t) == test::shape_of(notebook["embedding"]));
  CHECK(test::shape_of(outp) == test::shape_of(notebook["rnn_output"]));
  CHECK(test::shape_of(hn) == test::shape_of(notebook["rnn_hidden"]));
  const auto out = m(batch.xs);  // m(*V(xst))
  CHECK(test::shape_of(out) == std::vector<int64_t>{8, 512, 85});
  CHECK(test::shape_of(lesson_loss(LossKind::NllSeq, out, batch.y)).empty());
}

TEST_CASE("models: named_parameters are Python's state_dict keys, in the same order", "[python][models]") {
  for (const auto& test_case : windowed_cases()) {
    INFO(test_case["case"].get<std::string>());
    auto model = make_model(config_of(test_case, false));
    std::vector<std::string> keys;
    for (const auto& item : model.module->named_parameters()) keys.push_back(item.key());
    CHECK(keys == test_case["parameters"].get<std::vector<std::string>>());
    std::vector<std::string> saved;
    for (const auto& [key, tensor] : case_tensors(test_case, "state_dict")) saved.push_back(key);
    std::sort(keys.begin(), keys.end());
    CHECK(keys == saved);
  }
}

TEST_CASE("models: identity init is the notebook's weight_hh_l0 = eye(n_hidden)", "[python][models]") {
  for (const auto& test_case : windowed_cases()) {
    if (!test_case["identity_init"].get<bool>()) continue;
    INFO(test_case["case"].get<std::string>());
    auto model = make_model(config_of(test_case, true));
    const auto python = case_tensors(test_case, "state_dict").at("rnn.weight_hh_l0");
    const auto diff = test::max_abs_diff(model.module->named_parameters()["rnn.weight_hh_l0"], python);
    CHECK(test::report("identity weight_hh_l0", test_case["case"].get<std::string>(), diff) == 0.0);
  }
}

TEST_CASE("models: forward pass from Python's weights equals Python's output", "[python][models][parity]") {
  for (const auto& test_case : windowed_cases()) {
    const auto name = test_case["case"].get<std::string>();
    INFO(name);
    auto model = python_initialised(test_case);
    const auto ref = case_tensors(test_case, "forward");
    const auto out = model.forward(ref.at("xs"));
    CHECK(test::report("forward", name, test::max_abs_diff(out, ref.at("out"))) <= test::kParityTolerance);
  }
}

TEST_CASE("models: one Adam step from Python's weights: loss, gradients, weights", "[python][models][parity]") {
  for (const auto& test_case : windowed_cases()) {
    const auto name = test_case["case"].get<std::string>();
    INFO(name);
    auto model = python_initialised(test_case);
    const auto ref = case_tensors(test_case, "forward");
    const auto grads = case_tensors(test_case, "grad");
    const auto updated = case_tensors(test_case, "updated");

    Adam opt(model.module->parameters(), torch::optim::AdamOptions(test_case["lr"].get<double>()));
    auto out = model.forward(ref.at("xs"));
    opt.zero_grad();
    auto loss = lesson_loss(find_model(test_case["model"].get<std::string>()).loss, out, ref.at("y"));
    loss.backward();
    opt.step();

    CHECK(test::report("loss", name, test::max_abs_diff(loss, ref.at("loss"))) <= test::kParityTolerance);
    double grad_diff = 0.0, weight_diff = 0.0;
    for (const auto& item : model.module->named_parameters()) {
      INFO(item.key());
      const auto g = test::max_abs_diff(item.value().grad(), grads.at("grad." + item.key()));
      const auto w = test::max_abs_diff(item.value(), updated.at("updated." + item.key()));
      CHECK(g <= test::kParityTolerance);
      CHECK(w <= test::kParityTolerance);
      grad_diff = std::max(grad_diff, g);
      weight_diff = std::max(weight_diff, w);
    }
    test::report("Adam step: gradients", name, grad_diff);
    test::report("Adam step: updated weights", name, weight_diff);
  }
}

TEST_CASE("models: lesson6.py's loader draws the C++ loader's batches for the same seed", "[python][loader]") {
  const auto& spec = reference()["loader"];
  const auto ref = test::reference_tensors("models", spec["file"].get<std::string>());
  const int64_t n = spec["rows"].get<int64_t>();
  Windows w{torch::arange(n * 3, torch::kInt64).view({n, 3}), torch::arange(n, torch::kInt64)};
  auto md = from_arrays(torch::tensor(spec["val_idxs"].get<std::vector<int64_t>>(), torch::kInt64), w,
                        spec["bs"].get<int64_t>(), spec["seed"].get<uint64_t>());
  auto epoch_labels = [](DataLoader& dl) {
    auto order = dl.epoch_order();
    std::vector<torch::Tensor> labels;
    for (int64_t b = 0; b < dl.num_batches(); ++b) labels.push_back(dl.batch(order, b).y);
    return torch::cat(labels);
  };
  CHECK(torch::equal(epoch_labels(md.trn_dl), ref.at("trn.epoch0")));
  CHECK(torch::equal(epoch_labels(md.trn_dl), ref.at("trn.epoch1")));
  CHECK(torch::equal(epoch_labels(md.val_dl), ref.at("val")));
}

TEST_CASE("model size: the parameter count measured on tiny instances is every model's count", "[models][size]") {
  // models/model_size.h extends counts at sizes 1..3 to any size; here it is held to the real
  // count of every registered model at the lesson's sizes and at odd ones, the LSTM's four gates
  // and its layers included.
  for (const auto& spec : model_registry()) {
    for (const auto& [vocab, n_fac, n_hidden, nl] :
         std::vector<std::tuple<int64_t, int64_t, int64_t, int64_t>>{{85, 42, 256, 2}, {56, 42, 512, 2},
                                                                     {7, 5, 13, 1}, {301, 17, 9, 3}}) {
      ModelConfig config;
      config.model = std::string(spec.name);
      config.vocab_size = vocab;
      config.n_fac = n_fac;
      config.n_hidden = n_hidden;
      config.nl = nl;
      config.bs = 4;
      int64_t real = 0;
      for (const auto& p : make_model(config).module->parameters()) real += p.numel();
      INFO(spec.name << " vocab " << vocab << " n_fac " << n_fac << " n_hidden " << n_hidden << " nl " << nl);
      CHECK(parameter_count(config) == static_cast<double>(real));
    }
  }
}

TEST_CASE("model size: measuring a model does not move torch's random stream", "[models][size]") {
  torch::manual_seed(5);
  const auto expected = torch::rand({4});
  torch::manual_seed(5);
  ModelConfig config;
  config.model = "char-seq-stateful-lstm";
  parameter_count(config);
  CHECK(torch::equal(torch::rand({4}), expected));
}
