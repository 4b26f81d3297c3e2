// The notebook's get_next / get_next_n for the stateful models (train/generate/stateful_generate.h):
// the texts of the Python twin (notebooks-ref/lesson6_stateful.py, written by
// export_generate_reference.py, part "generate" of notebooks-ref/export.py) from the same weights,
// for every stateful model of the registry, greedy and sampled under
// the same seeds; and what the notebook leaves open: <unk> and <pad> never drawn, the prompt
// lower-cased, characters outside the vocabulary refused, the caller's state left as it was.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <ATen/CPUGeneratorImpl.h>

#include "common/error.h"
#include "data/corpus.h"
#include "data/text_field.h"
#include "models/registry.h"
#include "reference.h"
#include "train/generate/stateful_generate.h"
#include "train/io/checkpoint.h"

using namespace charnn;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

// The notebook's TEXT.vocab.itos (56 entries, by frequency).
std::vector<std::string> notebook_itos() {
  std::vector<std::string> itos{"<unk>", "<pad>"};
  for (char c : std::string(" etiaonsrhldcufm\npg,ywbv-.\"kx;:qj!?()'z12=_3[]5486790")) itos.emplace_back(1, c);
  itos.push_back("\xc3\xa4");  // ä
  return itos;
}

torchtext::Field field_of(const std::vector<std::string>& itos) {
  torchtext::Field TEXT(/*lower=*/true);
  TEXT.vocab = torchtext::Vocab::from_itos(itos, "itos");
  return TEXT;
}

LessonModel small_model(const std::string& name, int64_t n_hidden = 32) {
  ModelConfig config;
  config.model = name;
  config.vocab_size = 56;
  config.n_fac = 8;
  config.n_hidden = n_hidden;
  config.bs = 64;
  return make_model(config);
}

// The registry's stateful models, in its order.
std::vector<std::string> stateful_models() {
  std::vector<std::string> names;
  for (const auto& spec : model_registry()) {
    if (spec.is_stateful()) names.emplace_back(spec.name);
  }
  return names;
}

// Where two texts part, for a failure message that shows it.
std::string first_difference(const std::string& a, const std::string& b) {
  size_t k = 0;
  while (k < a.size() && k < b.size() && a[k] == b[k]) ++k;
  return fmt::format("first difference at byte {}: C++ \"{}\", Python \"{}\"", k, a.substr(k, 20), b.substr(k, 20));
}

}  // namespace

TEST_CASE("stateful get_next_n: the Python twin's texts from the same weights, greedy and sampled",
          "[python][generate][stateful]") {
  const auto& manifest = test::reference_json("generate", "generate.json");
  const auto TEXT = field_of(manifest["itos"].get<std::vector<std::string>>());
  const auto prompt = decode_utf8(manifest["prompt"].get<std::string>(), "prompt");
  for (const auto& name : stateful_models()) {
    const auto c = test::cases_of(test::kGenerateCases, name).at(0);
    ModelConfig config;
    config.model = c["case"].get<std::string>();
    config.vocab_size = TEXT.vocab.size();
    config.n_fac = c["n_fac"].get<int64_t>();
    config.n_hidden = c["n_hidden"].get<int64_t>();
    if (c.contains("nl")) config.nl = c["nl"].get<int64_t>();
    if (c.contains("dropout")) config.dropout = c["dropout"].get<double>();
    auto model = make_model(config);
    load_state_dict(*model.module, test::reference_file("generate", c["state_dict"].get<std::string>()));
    for (const auto& run : c["texts"]) {
      SampleOptions options;
      options.n = manifest["n"].get<int64_t>();
      if (!run["temperature"].is_null()) options.temperature = run["temperature"].get<double>();
      options.seed = run["seed"].get<uint64_t>();
      const auto want = run["text"].get<std::string>();
      const auto got = get_next_n(model, TEXT, prompt, options);
      INFO(config.model << " temperature " << run["temperature"].dump() << " seed " << options.seed);
      INFO(first_difference(got, want));
      CHECK(got == want);
    }
  }
}

TEST_CASE("stateful get_next_n: <unk> and <pad> are never drawn, however likely", "[generate][stateful]") {
  const auto TEXT = field_of(notebook_itos());
  for (const auto& name : stateful_models()) {
    INFO(name);
    auto model = small_model(name);
    auto& l_out = *model.module->named_modules()["l_out"];
    torch::NoGradGuard no_grad;
    // Without the mask, every draw would be <unk> or <pad>.
    l_out.named_parameters()["bias"].narrow(0, 0, 2).fill_(50);
    SampleOptions greedy;
    greedy.n = 100;
    SampleOptions sampled = greedy;
    sampled.temperature = 1.0;
    for (const auto& options : {greedy, sampled}) {
      const auto text = get_next_n(model, TEXT, U"the wor", options);
      CHECK(decode_utf8(text, "text").size() == 7 + 100);
      CHECK_THAT(text, !Contains("<unk>") && !Contains("<pad>"));
    }
    // What get_next draws greedily: the most likely of the other tokens.
    model.module->eval();
    model.stateful->reset_state(1);
    const auto inp = TEXT.numericalize(std::u32string_view(U"the wor"));
    const auto p = model.stateful->forward(inp.view({-1, 1}))[-1];
    model.stateful->reset_state(1);
    auto gen = at::detail::createCPUGenerator(0);
    CHECK(get_next(*model.stateful, inp, greedy, gen) == 2 + p.narrow(0, 2, 54).argmax().item<int64_t>());
  }
}

TEST_CASE("stateful get_next_n: the prompt is lower-cased; characters outside the vocabulary are named",
          "[generate][stateful]") {
  const auto TEXT = field_of(notebook_itos());
  auto model = small_model("char-seq-stateful-gru");
  SampleOptions options;
  options.n = 40;
  options.temperature = 0.8;
  options.seed = 3;
  const auto lower = get_next_n(model, TEXT, U"for thos", options);
  const auto upper = get_next_n(model, TEXT, U"FOR Thos", options);
  CHECK(upper.substr(0, 8) == "FOR Thos");
  CHECK(upper.substr(8) == lower.substr(8));
  CHECK_THROWS_WITH(get_next_n(model, TEXT, U"Caf\u00c9 \u00e9t\u00e9 \U0001F600\n", options),
                    "prompt: 3 characters are not in the run's vocabulary (after lower-casing): "
                    "'\u00c9' (U+00C9), '\u00e9' (U+00E9), '\U0001F600' (U+1F600)");
  CHECK_THROWS_WITH(get_next_n(model, TEXT, U"", options), "prompt: empty; give at least one character");
  options.temperature = 0.0;
  CHECK_THROWS_WITH(get_next_n(model, TEXT, U"the", options), "temperature: must be > 0, got 0");
  // A one-character prompt is a window of one: the state alone carries the context.
  options.temperature.reset();
  CHECK(get_next_n(model, TEXT, U"t", options).size() == 41);
}

TEST_CASE("stateful get_next_n: the caller's state and mode are left as they were", "[generate][stateful]") {
  const auto TEXT = field_of(notebook_itos());
  for (const auto& name : stateful_models()) {
    INFO(name);
    auto model = small_model(name);
    model.module->train();
    std::vector<torch::Tensor> before;
    for (const auto& t : model.stateful->state()) before.push_back(torch::randn(t.sizes()));
    model.stateful->set_state(before);
    SampleOptions options;
    options.n = 20;
    get_next_n(model, TEXT, U"the wor", options);
    const auto after = model.stateful->state();
    REQUIRE(after.size() == before.size());
    for (size_t i = 0; i < after.size(); ++i) CHECK(torch::equal(after[i], before[i]));
    CHECK(model.module->is_training());
  }
}

TEST_CASE("stateful get_next_n: the vocabulary must be the model's", "[generate][stateful]") {
  auto itos = notebook_itos();
  itos.pop_back();
  auto model = small_model("char-seq-stateful-rnn");
  CHECK_THROWS_WITH(get_next_n(model, field_of(itos), U"the", {}),
                    "vocabulary: 55 tokens, but char-seq-stateful-rnn predicts 56");
}
