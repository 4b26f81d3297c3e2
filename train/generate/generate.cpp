#include "train/generate/generate.h"

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

#include <functional>
#include <limits>
#include <memory>
#include <vector>

#include "common/threads.h"
#include "train/generate/sample_checks.h"
#include "train/generate/window_chains.h"

namespace charnn {
namespace {

using generate_detail::check_finite;
using generate_detail::greedy_choice;
using generate_detail::printable;
using generate_detail::refuse_missing;

void check_prompt(const LessonModel& model, const Vocab& vocab, int64_t window, std::u32string_view prompt) {
  if (prompt.empty()) throw InputError("prompt: empty; give at least one window of characters");
  if (static_cast<int64_t>(prompt.size()) < window) {
    std::string shown;
    for (char32_t c : prompt) shown += printable(c);
    throw InputError(fmt::format("prompt: \"{}\" has {} character(s) but {} reads windows of {}; "
                                 "give at least {} characters",
                                 shown, prompt.size(), model.config.model, window, window));
  }
  std::u32string missing;
  for (char32_t c : prompt) {
    if (vocab.index_of(c) < 0 && missing.find(c) == std::u32string::npos) missing += c;
  }
  refuse_missing(missing, "the checkpoint's vocabulary");
}

// The model's log-probabilities for the character after `inp` ([window] int64).
torch::Tensor next_log_probs(LessonModel& model, const torch::Tensor& inp) {
  auto out = model.forward(inp.view({-1, 1}));
  return out.dim() == 3 ? out[-1][0] : out[0];  // sequence models: the last step's prediction
}

// Index 0 is the "\0" the vocabulary reserves: it never occurs in a text, so it is never a
// character to emit, however likely a hot temperature or a broken model makes it.
torch::Tensor without_reserved(torch::Tensor log_probs) {
  log_probs = log_probs.clone();
  log_probs.index_put_({0}, -std::numeric_limits<float>::infinity());
  return log_probs;
}

}  // namespace

void generate(LessonModel& model, const Vocab& vocab, int64_t window, std::u32string_view prompt,
              const SampleOptions& options, const std::function<void(char32_t)>& emit) {
  check_prompt(model, vocab, window, prompt);
  if (options.temperature && !(*options.temperature > 0)) {
    throw InputError(fmt::format("temperature: must be > 0, got {}", *options.temperature));
  }
  torch::NoGradGuard no_grad;
  // One character at a time, products of a few rows: a second thread, OpenMP's or the BLAS's,
  // costs more than it saves, and far more when another process holds the other core
  // (bench/README.md, "Generation threads").
  ScopedThreads one_thread({1, 1});
  model.module->eval();
  auto gen = at::detail::createCPUGenerator(options.seed);
  const auto device = model.module->parameters().front().device();

  const auto last_window = prompt.substr(prompt.size() - static_cast<size_t>(window));
  // The next character's log-probabilities, either way.
  std::function<torch::Tensor(int64_t)> after;
  torch::Tensor log_probs;
  if (options.recompute_windows || !model.window_recurrence) {
    auto inp = vocab.encode(last_window).to(device);
    log_probs = next_log_probs(model, inp);
    after = [&model, inp](int64_t c) mutable {
      inp = torch::cat({inp.slice(0, 1), torch::full({1}, c, inp.options())});
      return next_log_probs(model, inp);
    };
  } else {
    auto chains = std::make_shared<WindowChains>(model.window_recurrence(), window);
    std::vector<int64_t> first;
    for (char32_t ch : last_window) first.push_back(vocab.index_of(ch));
    log_probs = chains->start(first);
    after = [chains](int64_t c) { return chains->push(c); };
  }
  for (int64_t i = 0; i < options.n; ++i) {
    int64_t c;
    if (options.temperature) {
      auto probs = torch::softmax(without_reserved(log_probs.to(torch::kCPU)) / *options.temperature, -1);
      check_finite(probs, options);
      c = torch::multinomial(probs, 1, false, gen).item<int64_t>();
    } else {
      c = greedy_choice(log_probs.to(torch::kCPU).contiguous(), 1, options);
    }
    emit(vocab.char_at(c));
    if (i + 1 < options.n) log_probs = after(c);
  }
}

std::u32string get_next_n(LessonModel& model, const Vocab& vocab, int64_t window, std::u32string_view prompt,
                          const SampleOptions& options) {
  std::u32string res(prompt);
  generate(model, vocab, window, prompt, options, [&res](char32_t c) { res += c; });
  return res;
}

}  // namespace charnn
