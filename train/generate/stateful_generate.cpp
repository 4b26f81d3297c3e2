#include "train/generate/stateful_generate.h"

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

#include <limits>
#include <stdexcept>
#include <vector>

#include "common/error.h"
#include "data/corpus.h"
#include "train/generate/sample_checks.h"
#include "common/threads.h"

namespace charnn {
namespace {

using generate_detail::check_finite;

// The prompt's token indices, as TEXT.numericalize would give them after the Field's
// preprocess; every character with no token of its own (index 0, <unk>) is refused by name.
torch::Tensor numericalize_prompt(const torchtext::Field& TEXT, std::u32string_view prompt) {
  if (prompt.empty()) throw InputError("prompt: empty; give at least one character");
  const auto idxs = TEXT.numericalize(prompt);
  const auto* p = idxs.data_ptr<int64_t>();
  std::u32string missing;
  for (size_t k = 0; k < prompt.size(); ++k) {
    if (p[k] == 0 && missing.find(prompt[k]) == std::u32string::npos) missing += prompt[k];
  }
  generate_detail::refuse_missing(missing, "the run's vocabulary (after lower-casing)");
  return idxs;
}

// Generation starts its own state (get_next's first call) and leaves the caller's as it was,
// so text can be drawn in the middle of training without disturbing it.
class KeepState {
 public:
  explicit KeepState(LessonModel& model)
      : model_(model), state_(model.stateful->state()), training_(model.module->is_training()) {}
  ~KeepState() {
    model_.stateful->set_state(state_);
    model_.module->train(training_);
  }
  KeepState(const KeepState&) = delete;
  KeepState& operator=(const KeepState&) = delete;

 private:
  LessonModel& model_;
  std::vector<torch::Tensor> state_;
  bool training_;
};

}  // namespace

int64_t get_next(StatefulModel& m, const torch::Tensor& inp, const SampleOptions& options, at::Generator& gen) {
  const auto p = m.forward(inp.view({-1, 1}));
  if (!options.temperature) return generate_detail::greedy_choice(p[-1].to(torch::kCPU).contiguous(), 2, options);
  auto scores = p[-1].to(torch::kCPU).clone();
  scores.narrow(0, 0, 2).fill_(-std::numeric_limits<float>::infinity());  // <unk>, <pad>
  const double t = *options.temperature;
  const auto probs = t == 1.0 ? scores.exp() : torch::softmax(scores / t, -1);
  check_finite(probs, options);
  return torch::multinomial(probs, 1, false, gen).item<int64_t>();
}

void generate(LessonModel& model, const torchtext::Field& TEXT, std::u32string_view prompt,
              const SampleOptions& options, const std::function<void(const std::string&)>& emit) {
  if (!model.stateful) {
    throw std::invalid_argument(fmt::format("{} is not a stateful model; use the windowed generate", model.config.model));
  }
  auto inp = numericalize_prompt(TEXT, prompt);
  if (TEXT.vocab.size() != model.config.vocab_size) {
    throw InputError(fmt::format("vocabulary: {} tokens, but {} predicts {}", TEXT.vocab.size(), model.config.model,
                                 model.config.vocab_size));
  }
  if (TEXT.vocab.size() <= 2) throw InputError("vocabulary: holds only <unk> and <pad>, nothing to generate");
  if (options.temperature && !(*options.temperature > 0)) {
    throw InputError(fmt::format("temperature: must be > 0, got {}", *options.temperature));
  }
  torch::NoGradGuard no_grad;
  // Products of one row: a second thread, OpenMP's or the BLAS's, costs more than it saves
  // (bench/README.md, "Generation threads").
  ScopedThreads one_thread({1, 1});
  KeepState keep(model);
  model.module->eval();
  model.stateful->reset_state(1);
  inp = inp.to(model.module->parameters().front().device());
  auto gen = at::detail::createCPUGenerator(options.seed);
  for (int64_t i = 0; i < options.n; ++i) {
    const auto c = get_next(*model.stateful, inp, options, gen);
    emit(TEXT.vocab.itos()[static_cast<size_t>(c)]);
    inp = torch::cat({inp.slice(0, 1), torch::full({1}, c, inp.options())});
  }
}

std::string get_next_n(LessonModel& model, const torchtext::Field& TEXT, std::u32string_view prompt,
                       const SampleOptions& options) {
  std::string res = encode_utf8(std::u32string(prompt));
  generate(model, TEXT, prompt, options, [&res](const std::string& c) { res += c; });
  return res;
}

}  // namespace charnn
