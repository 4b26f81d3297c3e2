// `charnn sample` for a stateful (language-model) run, end to end through the real binary: the
// run directory as a trained run leaves it (model.pt, and config.json with the model's sizes and
// torchtext's itos), the text the library's get_next_n writes from it, the notebook's
// multinomial sampling by default, and one error line for what cannot be sampled.
#include <fmt/format.h>

#include <filesystem>

#include "cli_case.h"
#include "data/corpus.h"
#include "data/text_field.h"
#include "models/registry.h"
#include "train/generate/stateful_generate.h"
#include "train/io/checkpoint.h"
#include "train/io/config_file.h"
#include "train/run/session.h"

using namespace charnn;
using namespace charnn::test;
namespace fs = std::filesystem;

namespace {

// A CharSeqStatefulLSTM run at small sizes, its vocabulary built from a text as
// LanguageModelData builds it (Field(lower=True, tokenize=list), min_freq 3).
fs::path stateful_run(const fs::path& dir) {
  torchtext::Field TEXT(/*lower=*/true);
  TEXT.build_vocab({decode_utf8(synthetic_text(20000), "text")}, 3);
  RunConfig config;
  config.model.model = "char-seq-stateful-lstm";
  config.model.vocab_size = TEXT.vocab.size();
  config.model.n_fac = 8;
  config.model.n_hidden = 24;
  config.model.bs = 64;
  config.model.nl = 2;
  config.model.dropout = 0.5;
  config.schedule = {{1, 1e-2}};
  config.bs = 64;
  config.shards = 1;
  config.text = (dir / "text.txt").string();
  config.vocab = TEXT.vocab.itos();
  const auto run = dir / "run";
  fs::create_directories(run);
  torch::manual_seed(5);
  auto model = make_model(config.model);
  {
    // Sharper than PyTorch's initial weights, so the text depends on every window.
    torch::NoGradGuard no_grad;
    for (auto& p : model.module->parameters()) p.mul_(3);
  }
  save_state_dict(*model.module, run / "model.pt");
  write_run_config(run, config);
  return run;
}

CliResult sample_long(const fs::path& run, const std::string& prompt, std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"sample", "--checkpoint", run.string(), "--prompt", prompt, "-n", "120"};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_cli(args, run.parent_path(), "sample");
}

// What the library writes from the same run directory.
std::string library_text(const fs::path& run, const std::string& prompt, SampleOptions options) {
  auto loaded = load_run_model(run);
  torchtext::Field TEXT(/*lower=*/true);
  TEXT.vocab = torchtext::Vocab::from_itos(loaded.config.vocab, "itos");
  options.n = 120;
  return get_next_n(loaded.model, TEXT, decode_utf8(prompt, "prompt"), options) + "\n";
}

}  // namespace

TEST_CASE("sample, stateful run: the notebook's multinomial by default, --greedy and --temperature",
          "[cli][sample][stateful]") {
  const auto dir = fresh_dir("sample-stateful");
  const auto run = stateful_run(dir);
  SampleOptions notebook;
  notebook.temperature = 1.0;
  const auto by_default = sample_long(run, "The wat");
  expect_success(by_default);
  CHECK(by_default.err.empty());
  CHECK(by_default.out == library_text(run, "The wat", notebook));
  CHECK(by_default.out.rfind("The wat", 0) == 0);
  CHECK(by_default.out.find('<') == std::string::npos);  // neither <unk> nor <pad>

  SampleOptions greedy;
  const auto greedy_out = sample_long(run, "The wat", {"--greedy"});
  expect_success(greedy_out);
  CHECK(greedy_out.out == library_text(run, "The wat", greedy));
  CHECK(greedy_out.out != by_default.out);

  SampleOptions cool;
  cool.temperature = 0.5;
  cool.seed = 9;
  const auto cool_out = sample_long(run, "The wat", {"--temperature", "0.5", "--seed", "9"});
  expect_success(cool_out);
  CHECK(cool_out.out == library_text(run, "The wat", cool));
  CHECK(sample_long(run, "The wat", {"--temperature", "0.5", "--seed", "9"}).out == cool_out.out);
}

TEST_CASE("sample, stateful run: one error line for what cannot be sampled", "[cli][sample][stateful]") {
  const auto dir = fresh_dir("sample-stateful-errors");
  const auto run = stateful_run(dir);
  expect_error(sample_long(run, "the \xe2\x82\xac and \xc3\x89"),
               "prompt: 2 characters are not in the run's vocabulary (after lower-casing): "
               "'\xe2\x82\xac' (U+20AC), '\xc3\x89' (U+00C9)");
  expect_error(sample_long(run, ""), "prompt: empty; give at least one character");
  expect_error(sample_long(run, "the", {"--temperature", "0"}), "temperature: must be > 0, got 0");
  // A language-model run whose config.json holds a vocabulary that is no torchtext itos.
  auto config = read_run_config(run);
  config.vocab.assign(static_cast<size_t>(config.model.vocab_size), "a");
  write_run_config(run, config);
  expect_error(sample_long(run, "the"), (run / "config.json").string() + " 'itos': ");
}
