// charnn: the fastai lesson-6 character models from the shell.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <csignal>
#include <limits>
#include <type_traits>

#include "app/commands.h"
#include <c10/util/Exception.h>
#include <torch/version.h>

#include "common/console.h"
#include "common/error.h"
#include "common/test_hold.h"
#include "models/registry.h"
#include "common/threads.h"

namespace {

using namespace charnn::cli;

std::string model_names() {
  std::string names;
  for (const auto& spec : charnn::model_registry()) names += fmt::format("{}{}", names.empty() ? "" : ", ", spec.name);
  return names;
}

// Integer options get their bounds checked while parsing, so the error names the flag. The
// digits are read here too: CLI11 turns an out-of-range number into the largest integer.
template <typename Int>
CLI::Validator integer_at_least(Int min) {
  return CLI::Validator(
      [min](const std::string& value) {
        // CLI11 would read an empty value (an unset shell variable, say) as the default.
        if (value.empty()) return std::string("must not be empty");
        Int v{};
        const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), v);
        if (error == std::errc::result_out_of_range) {
          return fmt::format("{} is out of range (at most {})", value, std::numeric_limits<Int>::max());
        }
        if (std::is_unsigned_v<Int> && !value.empty() && value[0] == '-') {
          return fmt::format("must be >= 0, got {}", value);
        }
        if (error == std::errc() && v < min) return fmt::format("must be >= {}, got {}", min, v);
        return std::string();  // anything else: CLI11's own conversion names it
      },
      fmt::format("INT>={}", min));
}
CLI::Validator at_least(int64_t min) { return integer_at_least<int64_t>(min); }
// An empty path is a mistake (an unset shell variable, say), never a request for a default.
CLI::Validator non_empty() {
  return CLI::Validator([](const std::string& value) { return value.empty() ? std::string("must not be empty") : ""; },
                        "PATH");
}
CLI::Validator any_seed() { return integer_at_least<uint64_t>(0); }
// A finite number >= 0, said in those words: CLI11's own check prints the whole double range.
CLI::Validator finite_non_negative() {
  return CLI::Validator(
      [](const std::string& value) {
        char* end = nullptr;
        const double v = value.empty() ? std::nan("") : std::strtod(value.c_str(), &end);
        if (value.empty() || end != value.c_str() + value.size() || !std::isfinite(v) || v < 0) {
          return fmt::format("must be a finite number >= 0, got '{}'", value);
        }
        return std::string();
      },
      "NUMBER>=0");
}

void add_train(CLI::App& app, TrainArgs& a) {
  auto* train = app.add_subcommand("train", "Train a lesson model on a text, with progress and per-epoch losses");
  // Options that define the run; --resume takes them from the run's config.json instead.
  std::vector<CLI::Option*> run_defining{
      train->add_option("--model", a.run.model.model, "One of: " + model_names())->capture_default_str(),
      train->add_option("--fit", a.fits,
                        "A fit call EPOCHS@LR, repeatable, run in order (default: 1@1e-3); EPOCHS@LR:cosM runs "
                        "fastai's CosAnneal(cycle_mult=M) from LR, and LR 'prev' starts from the rate the "
                        "previous call left"),
      train->add_flag("--identity-init", a.run.model.identity_init, "Copy eye(n_hidden) into rnn.weight_hh_l0"),
      train->add_option("--seed", a.run.seed, "Seed for the initial weights and the batch order")
          ->capture_default_str()
          ->check(any_seed()),
      train->add_option("--text", a.run.text, "UTF-8 corpus (default: $CHARNN_TEXT, then data/nietzsche.txt)")
          ->check(non_empty()),
      train->add_option("--out", a.out, "Run directory: checkpoint, config, metrics, loss.png")
          ->capture_default_str()
          ->check(non_empty()),
      train->add_flag("--force", a.force,
                      "Replace a run already in --out (the old one is kept until the new one's first checkpoint)"),
      train->add_option("--bs", a.bs,
                        "Training batch size (default: the lesson's, 512, or 64 for the stateful models; "
                        "the windowed models validate at 2x)")
          ->check(at_least(1)),
      train->add_option("--window", a.run.window,
                        "Characters per input window, or the stateful models' bptt (default: the lesson's)")
          ->check(at_least(1)),
      train->add_option("--n-fac", a.run.model.n_fac, "Embedding size")->capture_default_str()->check(at_least(1)),
      train->add_option("--n-hidden", a.n_hidden, "Hidden size (default: the lesson's, 256, or 512 for the LSTM)")
          ->check(at_least(1)),
      train->add_option("--wd", a.run.wd, "Adam's weight decay (coupled L2, as LayerOptimizer's)")
          ->capture_default_str()
          ->check(finite_non_negative()),
      train->add_option("--trn-lines", a.run.trn_lines,
                        "Stateful models: lines of the text that train, the rest validate (default: the "
                        "lesson's 7998 when the text has more lines, else the first 80% of its lines)")
          ->check(at_least(1)),
      train->add_option("--max-chars", a.run.max_chars, "Train on the first N characters only (0 = all)")
          ->check(at_least(0)),
      train->add_option("--shards", a.run.shards,
                        "Threads each batch is cut across (0 = one per core; 1 = the plain step, "
                        "bit for bit PyTorch's)")
          ->capture_default_str()
          ->check(at_least(0)),
  };
  auto* resume = train->add_option("--resume", a.resume,
                                   "Continue the run saved in this directory, with its own settings "
                                   "(the options above come from its config.json; the ones below apply "
                                   "to this process and are not remembered)")
                     ->check(non_empty());
  for (auto* option : run_defining) resume->excludes(option);
  train->add_option("--metrics-every", a.metrics_every, "Batches between rows of batches.csv (0 = none)")
      ->capture_default_str()
      ->check(at_least(0));
  train->add_option("--checkpoint-every", a.checkpoint_every,
                    "Batches between resumable checkpoints (0 = only at epoch ends)")
      ->capture_default_str()
      ->check(at_least(0));
  train->add_option("--device", a.device, "cpu, cuda, cuda:N, or auto (cuda when available, else cpu)")->capture_default_str();
  train->add_flag("--no-progress", a.no_progress, "Print only the epoch rows");
  train->add_option("--world-size", a.parallel.world_size,
                    "Processes the run spans (default: $WORLD_SIZE, else 1); each takes its part of every batch")
      ->check(at_least(1));
  train->add_option("--rank", a.parallel.rank, "This process's rank, 0 to world size - 1 (default: $RANK)")
      ->check(at_least(0));
  train->add_option("--master", a.parallel.master,
                    "HOST:PORT of rank 0's store (default: $MASTER_ADDR:$MASTER_PORT, else 127.0.0.1:29500); "
                    "c10d's store has no authentication: a trusted network only")
      ->check(non_empty());
  train->add_option("--bind", a.parallel.bind, "The address this rank's Gloo connections use")->check(non_empty());
  train->add_option("--dist-timeout", a.parallel.timeout,
                    "Seconds a silent rank is waited for before the others stop with an error")
      ->capture_default_str()
      ->check(at_least(1));
  train->add_flag("--plain", a.plain,
                  "PyTorch's nn::RNN/GRU/LSTM, bit for bit PyTorch's step, instead of the fused layers (equal "
                  "within 1e-6, faster); a run may resume either way");
  train->footer(
      "Ctrl-C (SIGINT) or SIGTERM stops at the next batch boundary, saves a resumable checkpoint and exits "
      "with 128+signal; a second one quits at once (the last checkpoint stays intact). A NaN or infinite "
      "training loss stops the run with exit status 1, keeping the last checkpoint.");
}

void add_sample(CLI::App& app, SampleArgs& a) {
  auto* sample = app.add_subcommand("sample", "Generate text from a trained run (the notebook's get_next_n)");
  sample->add_option("--checkpoint", a.checkpoint, "A run directory written by `charnn train`")
      ->required()
      ->check(non_empty());
  sample->add_option("--prompt", a.prompt,
                     "Text to continue: at least one window long (3 characters for char3-model, 8 for the "
                     "others, or the run's --window; any length for the char-seq-stateful models, whose "
                     "window is the prompt, lower-cased), and only characters of the run's vocabulary")
      ->required();
  sample->add_option("-n", a.n, "Characters to generate")->capture_default_str()->check(at_least(0));
  auto* greedy = sample->add_flag("--greedy", a.greedy,
                                  "Always take the most likely character (the default, except for the "
                                  "char-seq-stateful models, which sample at temperature 1 as the notebook does)");
  sample->add_option("--temperature", a.temperature, "Sample from softmax(logits / T) instead")->excludes(greedy);
  sample->add_option("--seed", a.seed, "Seed for sampling")->capture_default_str()->check(any_seed());
}

void add_lesson(CLI::App& app, LessonArgs& a) {
  auto* lesson = app.add_subcommand("lesson", "Run the notebook's schedule for every model and compare losses");
  lesson->add_flag("--quick", a.quick,
                   "Run on the first 30000 characters, one epoch per fit call (a smoke run, not comparable)");
  lesson->footer(
      "Ctrl-C (SIGINT) or SIGTERM stops the section in progress at the next batch boundary, saves its checkpoint and "
      "exits with 128+signal; the same command then continues where it stopped.");
  lesson->add_option("--text", a.text, "UTF-8 corpus (default: $CHARNN_TEXT, then data/nietzsche.txt)")
      ->check(non_empty());
  lesson->add_option("--out", a.out, "Directory for the runs and lesson.md / lesson.csv")
      ->capture_default_str()
      ->check(non_empty());
  lesson->add_option("--seed", a.seed, "Seed for every run")->capture_default_str()->check(any_seed());
  lesson->add_option("--only", a.only, "Run only these sections (names as in the table)");
  lesson->add_flag("--force", a.force,
                   "Replace a section's run made with other settings (a finished section with the same settings is "
                   "kept, an interrupted one resumes)");
  lesson->add_flag("--plain", a.plain, "PyTorch's nn layers instead of the fused ones (--shards 1 implies it)");
  lesson->add_option("--shards", a.shards, "Threads each batch is cut across (0 = one per core; 1 = plain)")
      ->capture_default_str()
      ->check(at_least(0));
}

// The options shapes and batches share: where the lesson's data comes from.
void add_data_options(CLI::App* command, std::string& text, int64_t& max_chars, uint64_t& seed) {
  command->add_option("--text", text, "UTF-8 corpus (default: $CHARNN_TEXT, then data/nietzsche.txt)")
      ->check(non_empty());
  command->add_option("--max-chars", max_chars, "Use the first N characters only (0 = all), as a run's --max-chars")
      ->capture_default_str()
      ->check(at_least(0));
  command->add_option("--seed", seed, "The run's seed: the windows' training order, the stateful models' numpy stream")
      ->capture_default_str()
      ->check(any_seed());
}

void add_shapes(CLI::App& app, ShapesArgs& a) {
  auto* shapes = app.add_subcommand(
      "shapes", "One forward of a model on a batch of the lesson's data: each line of forward with the shapes it made");
  shapes->add_option("MODEL", a.model, "One of: " + model_names())->required();
  shapes->add_option("--bs", a.bs, "Batch size (default: the lesson's, 512, or 64 for the stateful models; 1: one "
                                   "sample, as the write-up shows it)")
      ->check(at_least(1));
  add_data_options(shapes, a.text, a.max_chars, a.seed);
  shapes->add_flag("--json", a.json, "Print the walk as JSON");
  shapes->footer("The shapes are measured while the forward runs (every ATen operator it calls, with what it "
                 "returned) and given to the lines whose calls made them.");
}

void add_batches(CLI::App& app, BatchesArgs& a) {
  auto* batches = app.add_subcommand(
      "batches", "The first rows of a model's data as characters, x beside y (the windows, or a batch's columns)");
  batches->add_option("MODEL", a.model, "One of: " + model_names())->required();
  batches->add_option("--rows", a.rows, "Rows to show")->capture_default_str()->check(at_least(1));
  batches->add_option("--bs", a.bs, "Batch size: the stateful models' columns (default: the lesson's 64)")
      ->check(at_least(1));
  add_data_options(batches, a.text, a.max_chars, a.seed);
  batches->add_flag("--json", a.json, "Print the rows as JSON (token lists)");
}

// While a fit call runs, the first SIGINT/SIGTERM asks training to stop at a batch boundary;
// the handler then steps aside, so a second one ends the process at once. Before training
// starts and after it ends there is nothing to finish: the signal ends the process at once.
// Only async-signal-safe calls here.
extern "C" void on_stop_signal(int sig) {
  std::signal(sig, SIG_DFL);
  if (!g_in_fit.load()) {
    std::raise(sig);
    return;
  }
  g_stop_signal.store(sig);
  static const char note[] =
      "\ncharnn: stopping at the next batch boundary (signal again to quit at once, without saving)\n";
  [[maybe_unused]] const auto n = ::write(STDERR_FILENO, note, sizeof note - 1);
}

// One error, one line: LibTorch's messages can run over several.
std::string first_line(std::string_view message) { return std::string(message.substr(0, message.find('\n'))); }

// CLI11's parse errors, as one "charnn: error:" line like every other error.
std::string one_line_failure(const CLI::App* /*app*/, const CLI::Error& e) {
  return fmt::format("charnn: error: {} (see --help)\n", e.what());
}

}  // namespace

int main(int argc, char** argv) {
  // LibTorch's OpenMP pool and OpenBLAS's pthread pool must not fight for the cores.
  charnn::configure_threads();
  charnn::set_test_hold_release(&g_stop_signal);
  CLI::App app{"charnn: the fastai lesson-6 character-level RNNs in C++ (LibTorch)"};
  app.require_subcommand(1);
  // Parity differs between LibTorch versions, so a report needs both versions.
  app.set_version_flag("--version", fmt::format("charnn {} (LibTorch {}, {})", CHARNN_VERSION, TORCH_VERSION,
                                                CHARNN_TORCH_BACKEND));
  TrainArgs train;
  SampleArgs sample;
  LessonArgs lesson;
  ShapesArgs shapes;
  BatchesArgs batches;
  add_train(app, train);
  add_sample(app, sample);
  add_lesson(app, lesson);
  add_shapes(app, shapes);
  add_batches(app, batches);
  app.failure_message(one_line_failure);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and friends exit 0; every usage error exits 2, as usual for a command line.
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    // sample, shapes and batches keep the default actions: they have nothing to save, and Ctrl-C must end them.
    if (app.got_subcommand("sample")) return run_sample(sample);
    if (app.got_subcommand("shapes")) return run_shapes(shapes);
    if (app.got_subcommand("batches")) return run_batches(batches);
    std::signal(SIGINT, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);
    if (app.got_subcommand("train")) return run_train(std::move(train));
    return run_lesson(lesson);
  } catch (const c10::Error& e) {
    charnn::note(fmt::format("charnn: error: {}\n", first_line(e.what_without_backtrace())));
  } catch (const std::exception& e) {
    charnn::note(fmt::format("charnn: error: {}\n", first_line(e.what())));
  }
  return 1;
}
