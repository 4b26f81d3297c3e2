// Generation by window chains must predict what the model's forward predicts on every window,
// and write the same text as the notebook's way of generating.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <fstream>
#include <limits>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "data/corpus.h"
#include "data/layouts.h"
#include "data/split.h"
#include "models/registry.h"
#include "common/file.h"
#include "reference.h"
#include "support.h"
#include "train/io/checkpoint.h"
#include "train/families/windows.h"
#include "train/fit.h"
#include "train/generate/generate.h"
#include "models/fused/gate_kernels.h"
#include "train/generate/row_kernels.h"
#include "train/generate/sample_checks.h"
#include "train/generate/window_chains.h"
#include "data/lesson_data.h"
#include "model_table.h"

using namespace charnn;

namespace {

struct Trained {
  LessonModel model;
  Corpus corpus;
  int64_t window;
};

// A model after one short epoch, so that its predictions are far from uniform.
Trained trained(const std::string& name, bool identity) {
  auto corpus = truncate_corpus(load_corpus(test::nietzsche_path()), 30000);
  const auto& spec = find_model(name);
  const int64_t cs = default_window(spec.layout);
  auto md = lesson_data(corpus, spec.layout, cs);
  torch::manual_seed(0);
  auto model = make_model({name, corpus.vocab.size(), 42, 256, identity});
  auto opt = find_optimizer("adam").make(model.module->parameters(), 1e-2, 0.0);
  auto data = windowed_training(std::move(md), spec.loss, 2);
  auto lr = LearningRate::constant(1e-2);
  fit(model, *data, 1, *opt, lr);
  return {std::move(model), std::move(corpus), cs};
}

// How each registered model generates, as these tests expect it. A model without an entry fails
// by name, so whoever registers one says here whether it has window chains.
struct Generation {
  bool window_chains;                 // a window_recurrence: generation by window chains
  bool chains_from_identity = false;  // also checked from identity init, as the notebook trains it
};

const test::ModelTable<Generation>& generation_table() {
  // The stateful models carry their state instead: test_stateful_generate.cpp.
  static const test::ModelTable<Generation> table = {
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

const Generation& generation_of(std::string_view name) {
  return test::model_entry(generation_table(), name, "generation_table() of tests/test_window_chains.cpp",
                           "say whether it generates by window chains");
}

// The registered models that generate by window chains, in the registry's order.
std::vector<std::string> chain_models() {
  std::vector<std::string> names;
  for (const auto& spec : model_registry()) {
    if (generation_of(spec.name).window_chains) names.emplace_back(spec.name);
  }
  return names;
}

torch::Tensor forward_log_probs(LessonModel& model, const std::vector<int64_t>& window) {
  torch::NoGradGuard no_grad;
  auto out = model.forward(torch::tensor(window, torch::kLong).view({-1, 1}));
  return out.dim() == 3 ? out[-1][0] : out[0];
}

}  // namespace

TEST_CASE("window chains: the models the table says have them, and only those", "[generate][chains]") {
  for (const auto& spec : model_registry()) {
    INFO(spec.name);
    ModelConfig config;
    config.model = std::string(spec.name);
    config.vocab_size = 12;
    config.n_fac = 4;
    config.n_hidden = 8;
    CHECK(static_cast<bool>(make_model(config).window_recurrence) == generation_of(spec.name).window_chains);
  }
}

TEST_CASE("window chains: every prediction equals the model's forward on that window", "[generate][chains]") {
  struct Case {
    std::string model;
    bool identity;
  };
  std::vector<Case> cases;
  for (const auto& name : chain_models()) {
    cases.push_back({name, false});
    if (generation_of(name).chains_from_identity) cases.push_back({name, true});
  }
  for (const auto& c : cases) {
    SECTION(c.model + (c.identity ? " identity" : "")) {
      auto t = trained(c.model, c.identity);
      t.model.module->eval();
      // Feed 120 characters of the text, checking the prediction after each.
      std::vector<int64_t> text;
      for (char32_t ch : t.corpus.text.substr(1000, 120)) text.push_back(t.corpus.vocab.index_of(ch));
      WindowChains chains(t.model.window_recurrence(), t.window);
      std::vector<int64_t> window(text.begin(), text.begin() + t.window);
      auto got = chains.start(window);
      double worst = 0;
      for (size_t i = static_cast<size_t>(t.window); i <= text.size(); ++i) {
        const auto want = forward_log_probs(t.model, std::vector<int64_t>(text.begin() + static_cast<long>(i) - t.window,
                                                                           text.begin() + static_cast<long>(i)));
        REQUIRE(got.sizes() == want.sizes());
        worst = std::max(worst, (got - want).abs().max().item<double>());
        if (i < text.size()) got = chains.push(text[i]);
      }
      INFO(c.model << ": largest difference of a log-probability " << worst);
      CHECK(worst <= 1e-5);
    }
  }
}

// What the Python twin's get_next_n (notebooks-ref/lesson6.py) writes from the same weights.
static std::string python_get_next_n(const Trained& t, const std::string& name, const std::u32string& prompt, int64_t n,
                              const SampleOptions& options) {
  test::TempDir dir("get_next_n_" + name);
  save_state_dict(*t.model.module, dir.path() / "model.pt");
  std::vector<uint32_t> chars(t.corpus.vocab.chars().begin(), t.corpus.vocab.chars().end());
  std::ofstream(dir.path() / "chars.json") << nlohmann::json(chars).dump();
  std::vector<std::string> args{"--model", name, "--state-dict", (dir.path() / "model.pt").string(),
                                "--chars", (dir.path() / "chars.json").string(), "--prompt", encode_utf8(prompt),
                                "-n", std::to_string(n), "--window", std::to_string(t.window),
                                "--out", (dir.path() / "text.txt").string()};
  if (options.temperature) {
    args.insert(args.end(), {"--temperature", fmt::format("{}", *options.temperature), "--seed",
                             std::to_string(options.seed)});
  }
  const auto result = test::run_python("get_next_n.py", args);
  INFO(result.output);
  REQUIRE(result.status == 0);
  return read_whole_file(dir.path() / "text.txt", "the Python twin's text");
}

TEST_CASE("window chains: get_next_n writes the Python twin's text, greedy and sampled", "[generate][chains][python]") {
  for (const auto& name : chain_models()) {
    SECTION(name) {
      auto t = trained(name, false);
      SampleOptions chains, recompute;
      chains.n = recompute.n = 200;
      recompute.recompute_windows = true;
      const std::u32string prompt = U"for those ";
      const auto greedy = get_next_n(t.model, t.corpus.vocab, t.window, prompt, recompute);
      CHECK(encode_utf8(greedy) == python_get_next_n(t, name, prompt, 200, recompute));
      CHECK(encode_utf8(get_next_n(t.model, t.corpus.vocab, t.window, prompt, chains)) == encode_utf8(greedy));
      CHECK(greedy.size() == prompt.size() + 200);
      chains.temperature = recompute.temperature = 0.8;
      chains.seed = recompute.seed = 7;
      const auto sampled = get_next_n(t.model, t.corpus.vocab, t.window, prompt, recompute);
      CHECK(encode_utf8(sampled) == python_get_next_n(t, name, prompt, 200, recompute));
      CHECK(encode_utf8(get_next_n(t.model, t.corpus.vocab, t.window, prompt, chains)) == encode_utf8(sampled));
      CHECK(sampled != greedy);
    }
  }
}

TEST_CASE("window chains: a window of one character", "[generate][chains]") {
  torch::manual_seed(0);
  auto model = make_model({"char-loop-model", 12, 4, 16, false});
  model.module->eval();
  WindowChains chains(model.window_recurrence(), 1);
  auto got = chains.start({3});
  CHECK((got - forward_log_probs(model, {3})).abs().max().item<double>() <= 1e-6);
  got = chains.push(5);
  CHECK((got - forward_log_probs(model, {5})).abs().max().item<double>() <= 1e-6);
  CHECK_THROWS_AS(chains.start({1, 2}), std::invalid_argument);
}

TEST_CASE("rows_affine: the few-row product equals addmm, tails and all, with every kernel the CPU runs",
          "[generate][chains]") {
  namespace kernels = fused::kernels;
  const auto chosen = kernels::isa();
  const auto isa = GENERATE(kernels::Isa::baseline, kernels::Isa::avx2, kernels::Isa::avx512);
  if (!kernels::set_isa(isa)) return;
  torch::manual_seed(1);
  INFO("kernel: " << rows_affine_kernel());
  CHECK(std::string(rows_affine_kernel()) == kernels::to_string(isa));
  for (const int64_t rows : {1, 3, 4, 5, 8, 9, 17}) {
    for (const int64_t k : {1, 42, 256}) {
      for (const int64_t n : {1, 15, 16, 17, 31, 32, 33, 85, 256}) {
        for (const bool add : {false, true}) {
          const auto in = torch::randn({rows, k}), in_add = torch::randn({k});
          const auto w_t = torch::randn({k, n}), bias = torch::randn({n});
          auto out = torch::full({rows, n}, std::nanf(""));
          rows_affine(in.data_ptr<float>(), add ? in_add.data_ptr<float>() : nullptr, rows, k, w_t.data_ptr<float>(), n,
                      bias.data_ptr<float>(), out.data_ptr<float>());
          const auto want = torch::addmm(bias, add ? in + in_add : in, w_t);
          INFO(rows << "x" << k << " by " << k << "x" << n << (add ? " with an added row" : ""));
          CHECK((out - want).abs().max().item<double>() <= 1e-5 * std::sqrt(static_cast<double>(k)) * 4);
        }
      }
    }
  }
  kernels::set_isa(chosen);
}

TEST_CASE("greedy_choice: argmax's pick past the reserved entries, non-finite scores refused", "[generate]") {
  using generate_detail::greedy_choice;
  SampleOptions greedy;
  torch::manual_seed(3);
  for (int trial = 0; trial < 20; ++trial) {
    // Rounded scores make ties, where argmax takes the first.
    auto scores = (torch::randn({85}) * 4).round();
    const auto want = scores.narrow(0, 2, 83).argmax().item<int64_t>() + 2;
    CHECK(greedy_choice(scores, 2, greedy) == want);
  }
  auto scores = torch::tensor({9.0f, 1.0f, 3.0f, 3.0f});
  CHECK(greedy_choice(scores, 1, greedy) == 2);
  CHECK(greedy_choice(scores, 0, greedy) == 0);
  scores[0] = std::nanf("");
  CHECK(greedy_choice(scores, 1, greedy) == 2);  // a reserved entry is never looked at
  scores[3] = std::numeric_limits<float>::infinity();
  CHECK_THROWS_WITH(greedy_choice(scores, 1, greedy), Catch::Contains("model.pt") && Catch::Contains("non-finite"));
  CHECK_THROWS_AS(greedy_choice(scores, 4, greedy), std::invalid_argument);
}
