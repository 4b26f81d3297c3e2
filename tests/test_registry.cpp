// Adding a model touches models/ and a registry line, nothing else: a model defined here,
// outside the library, registers itself and then trains, checkpoints and samples through the
// public API like the lesson's own.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <fstream>

#include "models/registry.h"
#include "reference.h"
#include "train/generate/generate.h"
#include "data/lesson_data.h"
#include "train/adam.h"
#include "train/families/family.h"
#include "train/io/checkpoint.h"
#include "train/run/session.h"
#include "train/sharded_step.h"

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

// A registration for the length of a test, so no other test sees it, whatever the order.
template <void (*Unregister)(std::string_view)>
struct Registered {
  // A constructor of its own: C++20 no longer counts a class with deleted constructors as an
  // aggregate, so `Registered<...> r{"name"}` would not compile on the pip path's LibTorch 2.x.
  explicit Registered(std::string name_) : name(std::move(name_)) {}
  std::string name;
  Registered(const Registered&) = delete;
  Registered& operator=(const Registered&) = delete;
  ~Registered() { Unregister(name); }
};

// SGD with momentum (fastai's default optimizer), behind the Optimizer interface: its state is
// Python's {"momentum_buffer"}.
class ToySgd : public Optimizer {
 public:
  ToySgd(std::vector<torch::Tensor> parameters, double lr, double weight_decay)
      : sgd_(std::move(parameters), torch::optim::SGDOptions(lr).momentum(0.9).weight_decay(weight_decay)) {}
  torch::optim::Optimizer& torch() override { return sgd_; }
  OptimizerValues parameter_state(const torch::Tensor& p) override {
    auto out = optimizer_values();
    const auto it = sgd_.state().find(optimizer_state_key(p));
    if (it == sgd_.state().end()) return out;
    out.insert("momentum_buffer", static_cast<torch::optim::SGDParamState&>(*it->second).momentum_buffer());
    return out;
  }
  void set_parameter_state(const torch::Tensor& p, const OptimizerValues& state) override {
    auto s = std::make_unique<torch::optim::SGDParamState>();
    s->momentum_buffer(state.at("momentum_buffer").toTensor().clone());
    sgd_.state()[optimizer_state_key(p)] = std::move(s);
  }
  OptimizerValues group_options() override {
    auto out = optimizer_values();
    const auto& o = static_cast<const torch::optim::SGDOptions&>(sgd_.param_groups().at(0).options());
    out.insert("lr", o.lr());
    out.insert("momentum", o.momentum());
    return out;
  }

 private:
  torch::optim::SGD sgd_;
};

// A family the lesson does not have: the windows read in their order, the same batches every
// epoch; its resume state is the next batch's index.
class InOrderData : public TrainingData {
 public:
  InOrderData(ModelData md, LossKind loss) : md_(std::move(md)), loss_(loss), step_(1) {}
  int64_t batches_per_epoch() const override { return md_.trn_dl.num_batches(); }
  int64_t training_rows() const override { return md_.trn_dl.num_rows(); }
  void start_epoch() override {}
  std::optional<Batch> next_batch() override {
    if (next_ >= batches_per_epoch()) return std::nullopt;
    return md_.trn_dl.batch(torch::arange(training_rows()), next_++);
  }
  void end_epoch() override { next_ = 0; }
  double loss_and_grads(LessonModel& model, const Batch& batch) override {
    return step_.loss_and_grads(model, loss_, batch, torch::kCPU);
  }
  double validate(LessonModel& model) override {
    model.module->eval();
    return step_.loss(model, loss_, md_.val_dl.batch(torch::arange(md_.val_dl.num_rows()), 0), torch::kCPU);
  }
  DataState state(const LessonModel& /*model*/) const override {
    auto s = data_state();
    s.insert("next", next_);
    return s;
  }
  void restore(const DataState& state, const FitState& /*at*/, LessonModel& /*model*/) override {
    next_ = state_entry(state, "next").toInt();
  }

 private:
  ModelData md_;
  LossKind loss_;
  ShardedStep step_;
  int64_t next_ = 0;
};

class InOrderFamily : public Family {
 public:
  std::string_view name() const override { return "in-order"; }
  std::unique_ptr<TrainingData> prepare(const Corpus& text, RunConfig& config, const torch::Device& /*device*/,
                                        Shard& /*shard*/) const override {
    config.vocab = text.vocab.tokens();
    config.model.vocab_size = text.vocab.size();
    config.shards = 1;
    const auto& spec = find_model(config.model.model);
    return std::make_unique<InOrderData>(lesson_data(text, spec.layout, 8, config.bs, config.seed), spec.loss);
  }
  bool epochs_end_early() const override { return false; }
  void check_state(const DataState& state, const FitState&, const RunShape&, LessonModel&) const override {
    state_entry(state, "next");
  }
  void generate(LessonModel& model, const RunConfig& config, std::string_view vocab_name, std::u32string_view prompt,
                const SampleOptions& options, const std::function<void(std::string_view)>& emit) const override {
    charnn::generate(model, Vocab::from_tokens(config.vocab, vocab_name), 8, prompt, options,
                     [&emit](char32_t c) { emit(encode_utf8(c)); });
  }
};

// Asks the run to stop once it has seen `after` batches.
struct StopAfter : FitObserver {
  explicit StopAfter(int64_t after) : after(after) {}
  void on_batch_end(const BatchEvent& /*event*/) override { ++seen; }
  bool stop_requested() override { return seen >= after; }
  int64_t after, seen = 0;
};

std::filesystem::path toy_text(const test::TempDir& dir) {
  const auto text = dir.path() / "text.txt";
  std::ofstream(text) << "the cat sat on the mat; the dog sat on the log. " << "the cat ate the rat. "
                      << "a dog and a cat met a rat on a mat and sat. ";
  return text;
}

}  // namespace

TEST_CASE("registry: a model defined outside the library trains, saves and samples", "[registry]") {
  register_model(model_entry<ToyModel>("toy-model", "ToyModel", Layout::Overlapping, LossKind::Nll));
  const Registered<unregister_model> toy{"toy-model"};
  const auto& spec = find_model("toy-model");
  CHECK_FALSE(spec.has_identity_init);
  CHECK_THROWS_WITH(register_model(model_entry<ToyModel>("toy-model", "ToyModel", Layout::Overlapping, LossKind::Nll)),
                    Catch::Contains("'toy-model' is already registered"));

  test::TempDir dir("registry-toy");
  const auto text = toy_text(dir);
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
  const auto vocab = Vocab::from_tokens(loaded.config.vocab, "itos");
  const auto chained = get_next_n(loaded.model, vocab, 8, prompt, fast);
  const auto recomputed = get_next_n(loaded.model, vocab, 8, prompt, notebook_way);
  CHECK(chained.size() == prompt.size() + 40);
  CHECK(chained == recomputed);
}

TEST_CASE("registry: a family and an optimizer of the caller's own train, stop and resume exactly", "[registry]") {
  // Adding a family or an optimizer is a class and a registry line: the run, its checkpoints and
  // --resume then work with them, no other room touched.
  register_family(std::make_shared<InOrderFamily>());
  const Registered<unregister_family> family{"in-order"};
  register_optimizer({"toy-sgd", [](std::vector<torch::Tensor> parameters, double lr, double weight_decay) {
                        return std::make_unique<ToySgd>(std::move(parameters), lr, weight_decay);
                      }});
  const Registered<unregister_optimizer> optimizer{"toy-sgd"};
  auto spec = find_model("char-rnn");
  spec.name = "char-rnn-in-order";
  spec.family = "in-order";
  register_model(spec);
  const Registered<unregister_model> model{"char-rnn-in-order"};

  test::TempDir dir("registry-family");
  RunConfig config;
  config.model = {"char-rnn-in-order", 0, 6, 16, false};
  config.schedule = {{2, 1e-2}, {1, 1e-3}};
  config.bs = 8;
  config.text = toy_text(dir).string();
  config.optimizer = "toy-sgd";
  SessionOptions whole;
  whole.out = dir.path() / "whole";
  whole.progress = false;
  REQUIRE(train_run(config, whole).completed);

  SessionOptions stopped = whole;
  stopped.out = dir.path() / "stopped";
  StopAfter stop(7);
  stopped.observers = {&stop};
  REQUIRE_FALSE(train_run(config, stopped).completed);
  const auto state = read_torch_file(stopped.out / "train_state.pt").toGenericDict();
  CHECK(state.at("data").toGenericDict().at("next").toInt() == 7 % read_run_config(stopped.out).trn_batches);
  CHECK(state.at("optimizer").toGenericDict().at("name").toStringRef() == "toy-sgd");
  stopped.observers.clear();
  REQUIRE(resume_run(stopped).completed);
  for (const char* name : {"model.pt", "train_state.pt", "epochs.csv"}) {
    INFO(name);
    std::ifstream a(whole.out / name, std::ios::binary), b(stopped.out / name, std::ios::binary);
    CHECK(std::string(std::istreambuf_iterator<char>(a), {}) == std::string(std::istreambuf_iterator<char>(b), {}));
  }
  CHECK(read_run_config(whole.out).optimizer == "toy-sgd");
}

}  // namespace charnn
