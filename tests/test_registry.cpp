// Adding a model touches models/ and a registry line, nothing else: a model defined here,
// outside the library, registers itself and then trains, checkpoints and samples through the
// public API like the lesson's own.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <fstream>

#include "models/registry.h"
#include "reference.h"
#include "train/generate/generate.h"
#include "train/run/session.h"

namespace charnn {
namespace {

// A recurrence the lesson does not have: h = tanh(l_hidden(h) + e2h(c)), with the
// embedding projected straight to the hidden size.
struct ToyModelImpl : torch::nn::Module {
  ToyModelImpl(int64_t vocab_size, int64_t n_fac, int64_t n_hidden)
      : n_hidden(n_hidden),
        e(register_module("e", torch::nn::Embedding(vocab_size, n_fac))),
        e2h(register_module("e2h", torch::nn::Linear(n_fac, n_hidden))),
        l_hidden(register_module("l_hidden", torch::nn::Linear(torch::nn::LinearOptions(n_hidden, n_hidden).bias(false)))),
        l_out(register_module("l_out", torch::nn::Linear(n_hidden, vocab_size))) {}

  torch::Tensor forward(const torch::Tensor& cs) {
    auto h = torch::zeros({cs.size(1), n_hidden}, e->weight.options());
    for (int64_t i = 0; i < cs.size(0); ++i) h = torch::tanh(l_hidden(h) + e2h(e(cs[i])));
    return torch::log_softmax(l_out(h), -1);
  }

  WindowRecurrence window_recurrence() const {
    torch::NoGradGuard no_grad;
    const auto term = torch::nn::functional::linear(e->weight, e2h->weight, e2h->bias);
    RecurrenceLayer step{l_hidden->weight, {}, RecurrenceLayer::CharTerm::AfterProduct,
                         RecurrenceLayer::Activation::Tanh};
    return {term, {step}, l_out->weight, l_out->bias};
  }

  int64_t n_hidden;
  torch::nn::Embedding e{nullptr};
  torch::nn::Linear e2h{nullptr}, l_hidden{nullptr}, l_out{nullptr};
};
TORCH_MODULE(ToyModel);

void register_toy_model() {
  static const bool once = [] {
    register_model(model_entry<ToyModel>("toy-model", "ToyModel", Layout::Overlapping, LossKind::Nll));
    return true;
  }();
  (void)once;
}

}  // namespace

TEST_CASE("registry: a model defined outside the library trains, saves and samples", "[registry]") {
  register_toy_model();
  const auto& spec = find_model("toy-model");
  CHECK_FALSE(spec.has_identity_init);
  CHECK_THROWS_WITH(register_model(model_entry<ToyModel>("toy-model", "ToyModel", Layout::Overlapping, LossKind::Nll)),
                    Catch::Contains("'toy-model' is already registered"));

  test::TempDir dir("registry-toy");
  const auto text = dir.path() / "text.txt";
  std::ofstream(text) << "the cat sat on the mat; the dog sat on the log. " << "the cat ate the rat. "
                      << "a dog and a cat met a rat on a mat and sat. ";
  RunConfig config;
  config.model = {"toy-model", 0, 6, 16, false};
  config.schedule = {{2, 1e-2}};
  config.bs = 8;
  config.text = text.string();
  config.shards = 1;
  SessionOptions options;
  options.out = dir.path() / "run";
  options.progress = false;
  const auto result = train_run(config, options);
  REQUIRE(result.completed);
  REQUIRE(result.fits.size() == 1);
  CHECK(result.fits[0].rows.size() == 2);
  CHECK(std::isfinite(result.fits[0].rows.back().val_loss));

  auto loaded = load_run_model(options.out);
  CHECK(loaded.config.model.model == "toy-model");
  REQUIRE(loaded.model.window_recurrence);
  SampleOptions fast;
  fast.n = 40;
  SampleOptions notebook_way = fast;
  notebook_way.recompute_windows = true;
  const auto prompt = std::u32string(U"the cat sat");
  const auto chained = get_next_n(loaded.model, loaded.vocab, loaded.window, prompt, fast);
  const auto recomputed = get_next_n(loaded.model, loaded.vocab, loaded.window, prompt, notebook_way);
  CHECK(chained.size() == prompt.size() + 40);
  CHECK(chained == recomputed);
}

}  // namespace charnn
