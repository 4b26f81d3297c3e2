// charnn: the fastai lesson-6 character models from the shell.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <csignal>

#include "app/commands.h"
#include <c10/util/Exception.h>

#include "data/errors.h"
#include "models/registry.h"

namespace {

using namespace charnn::cli;

std::string model_names() {
  std::string names;
  for (const auto& spec : charnn::model_registry()) names += fmt::format("{}{}", names.empty() ? "" : ", ", spec.name);
  return names;
}

void add_train(CLI::App& app, TrainArgs& a) {
  auto* train = app.add_subcommand("train", "Train a lesson model on a text, with progress and per-epoch losses");
  train->add_option("--model", a.run.model.model, "One of: " + model_names())->capture_default_str();
  train->add_option("--fit", a.fits, "A fit call EPOCHS@LR, repeatable, run in order (default: 1@1e-3)");
  train->add_flag("--identity-init", a.run.model.identity_init, "Copy eye(n_hidden) into rnn.weight_hh_l0");
  train->add_option("--seed", a.run.seed, "Seed for the initial weights and the batch order")->capture_default_str();
  train->add_option("--text", a.run.text, "UTF-8 corpus (default: $CHARNN_TEXT, then data/nietzsche.txt)");
  train->add_option("--out", a.out, "Run directory: checkpoint, config, metrics, loss.png")->capture_default_str();
  train->add_option("--resume", a.resume, "Continue the run saved in this directory");
  train->add_option("--bs", a.run.bs, "Training batch size (validation uses 2x)")->capture_default_str();
  train->add_option("--window", a.run.window, "Characters per input window (default: the lesson's)");
  train->add_option("--n-fac", a.run.model.n_fac, "Embedding size")->capture_default_str();
  train->add_option("--n-hidden", a.run.model.n_hidden, "Hidden size")->capture_default_str();
  train->add_option("--max-chars", a.run.max_chars, "Train on the first N characters only (0 = all)");
  train->add_option("--metrics-every", a.metrics_every, "Batches between rows of batches.csv")->capture_default_str();
  train->add_option("--checkpoint-every", a.checkpoint_every, "Batches between resumable checkpoints")
      ->capture_default_str();
  train->add_option("--device", a.device, "cpu, cuda, cuda:N")->capture_default_str();
  train->add_flag("--no-progress", a.no_progress, "Print only the epoch rows");
}

void add_sample(CLI::App& app, SampleArgs& a) {
  auto* sample = app.add_subcommand("sample", "Generate text from a trained run (the notebook's get_next_n)");
  sample->add_option("--checkpoint", a.checkpoint, "A run directory written by `charnn train`")->required();
  sample->add_option("--prompt", a.prompt, "Text to continue, at least one window long")->required();
  sample->add_option("-n", a.n, "Characters to generate")->capture_default_str();
  auto* greedy = sample->add_flag("--greedy", a.greedy, "Always take the most likely character (default)");
  sample->add_option("--temperature", a.temperature, "Sample from softmax(logits / T) instead")->excludes(greedy);
  sample->add_option("--seed", a.seed, "Seed for --temperature sampling")->capture_default_str();
}

void add_lesson(CLI::App& app, LessonArgs& a) {
  auto* lesson = app.add_subcommand("lesson", "Run the notebook's schedule for every model and compare losses");
  lesson->add_flag("--quick", a.quick, "Run on the first 30000 characters (a smoke run, not comparable)");
  lesson->add_option("--text", a.text, "UTF-8 corpus (default: $CHARNN_TEXT, then data/nietzsche.txt)");
  lesson->add_option("--out", a.out, "Directory for the runs and lesson.md / lesson.csv")->capture_default_str();
  lesson->add_option("--seed", a.seed, "Seed for every run")->capture_default_str();
  lesson->add_option("--only", a.only, "Run only these sections (names as in the table)");
}

extern "C" void on_stop_signal(int sig) { g_stop_signal.store(sig); }

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"charnn: the fastai lesson-6 character-level RNNs in C++ (LibTorch)"};
  app.require_subcommand(1);
  TrainArgs train;
  SampleArgs sample;
  LessonArgs lesson;
  add_train(app, train);
  add_sample(app, sample);
  add_lesson(app, lesson);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  try {
    if (app.got_subcommand("train")) return run_train(std::move(train));
    if (app.got_subcommand("sample")) return run_sample(sample);
    return run_lesson(lesson);
  } catch (const c10::Error& e) {
    fmt::print(stderr, "charnn: error: {}\n", e.what_without_backtrace());
  } catch (const std::exception& e) {
    fmt::print(stderr, "charnn: error: {}\n", e.what());
  }
  return 1;
}
