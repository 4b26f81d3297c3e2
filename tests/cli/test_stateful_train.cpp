// `charnn train` on the stateful models end to end: the language-model data of a short text,
// the state carried through training, model.pt under Python's state_dict keys, the schedule's
// CosAnneal with its cyc_N.pt files, and config.json recording what a resume rebuilds.
#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "cli_case.h"
#include "models/registry.h"
#include "train/io/checkpoint.h"
#include "train/run/session.h"
#include "../model_table.h"

using namespace charnn;
using namespace charnn::test;
namespace fs = std::filesystem;

namespace {

// 30000 characters of about 60 per line: the first 80% of its lines train.
fs::path stateful_corpus(const fs::path& dir) {
  const auto path = dir / "text.txt";
  if (!fs::exists(path)) write_file(path, synthetic_text(30000, 5));
  return path;
}

// Python's state_dict keys of each registered stateful model, sorted as read_tensor_dict's map
// holds them. A stateful model without an entry fails by name, so whoever registers one gives them.
const ModelTable<std::vector<std::string>>& expected_keys() {
  static const ModelTable<std::vector<std::string>> table = {
      {"char-seq-stateful-rnn",
       {"e.weight", "l_out.bias", "l_out.weight", "rnn.bias_hh_l0", "rnn.bias_ih_l0", "rnn.weight_hh_l0",
        "rnn.weight_ih_l0"}},
      {"char-seq-stateful-rnn2",
       {"e.weight", "l_out.bias", "l_out.weight", "rnn.bias_hh", "rnn.bias_ih", "rnn.weight_hh", "rnn.weight_ih"}},
      {"char-seq-stateful-gru",
       {"e.weight", "l_out.bias", "l_out.weight", "rnn.bias_hh_l0", "rnn.bias_ih_l0", "rnn.weight_hh_l0",
        "rnn.weight_ih_l0"}},
      {"char-seq-stateful-lstm",
       {"e.weight", "l_out.bias", "l_out.weight", "rnn.bias_hh_l0", "rnn.bias_hh_l1", "rnn.bias_ih_l0",
        "rnn.bias_ih_l1", "rnn.weight_hh_l0", "rnn.weight_hh_l1", "rnn.weight_ih_l0", "rnn.weight_ih_l1"}},
  };
  return table;
}

const std::vector<std::string>& expected_keys_of(const std::string& model) {
  return model_entry(expected_keys(), model, "expected_keys() of tests/cli/test_stateful_train.cpp",
                     "give its state_dict keys");
}

std::vector<std::string> stateful_models() {
  std::vector<std::string> names;
  for (const auto& spec : model_registry()) {
    if (spec.is_stateful()) names.emplace_back(spec.name);
  }
  return names;
}

std::vector<std::string> keys(const fs::path& file) {
  std::vector<std::string> out;
  for (const auto& [key, tensor] : read_tensor_dict(file)) out.push_back(key);
  return out;
}

}  // namespace

TEST_CASE("stateful: each model trains from the CLI and saves Python's state_dict keys", "[cli][stateful]") {
  const auto model = GENERATE(from_range(stateful_models()));
  const auto& want_keys = expected_keys_of(model);
  const auto dir = fresh_dir("stateful-" + model);
  const auto out = dir / "run";
  const auto r = run_cli(
      train_args(stateful_corpus(dir), out, {"--model", model, "--n-hidden", "32", "--fit", "1@3e-3"}), dir, "train");
  expect_success(r);
  INFO(r.out);
  CHECK_THAT(r.out, Catch::Matchers::StartsWith("[ 0. "));
  CHECK(keys(out / "model.pt") == want_keys);
  std::ifstream in(out / "config.json");
  const auto config = nlohmann::json::parse(in);
  CHECK(config.at("bs") == 64);
  CHECK(config.at("n_hidden") == 32);
  // Fewer lines than the lesson's 7998: the first 80% of them train.
  const auto text = read_file(stateful_corpus(dir));
  const auto lines = std::count(text.begin(), text.end(), '\n') + (text.back() == '\n' ? 0 : 1);
  CHECK(config.at("trn_lines") == lines * 4 / 5);
  const auto itos = config.at("itos").get<std::vector<std::string>>();
  REQUIRE(itos.size() >= 3);
  CHECK(itos[0] == "<unk>");
  CHECK(itos[1] == "<pad>");
  CHECK(config.at("vocab_size") == itos.size());
  CHECK(csv_rows(out / "epochs.csv").size() == 1);
  // The saved position reads back from the run's own files, without the text: an epoch ends
  // when the rows run out, so at most len(trn_dl) steps.
  const auto batches = config.at("trn_dl").at("batches").get<int64_t>();
  fs::rename(stateful_corpus(dir), dir / "moved.txt");
  const auto at = read_resume_point(out);
  CHECK(at.fit == 1);
  CHECK(at.step > 0);
  CHECK(at.step <= batches);
}

TEST_CASE("stateful: CosAnneal from the previous rate, weight decay, cyc_N.pt at cycle ends", "[cli][stateful]") {
  const auto dir = fresh_dir("stateful-cos");
  const auto out = dir / "run";
  // len(trn_dl) is about 45 here: the first cycle of the 2-epoch CosAnneal ends inside it.
  expect_success(run_cli(train_args(stateful_corpus(dir), out,
                                    {"--model", "char-seq-stateful-lstm", "--n-hidden", "32", "--wd", "1e-5", "--fit",
                                     "1@1e-2", "--fit", "2@prev:cos2"}),
                         dir, "train"));
  std::ifstream in(out / "config.json");
  const auto config = nlohmann::json::parse(in);
  CHECK(config.at("wd") == 1e-5);
  CHECK(config.at("schedule").at(0).at("kind") == "constant");
  CHECK(config.at("schedule").at(1).at("kind") == "cos_anneal");
  CHECK(config.at("schedule").at(1).at("lr") == "prev");
  CHECK(config.at("schedule").at(1).at("cycle_mult") == 2);
  REQUIRE(fs::exists(out / "cyc_0.pt"));
  CHECK_FALSE(fs::exists(out / "cyc_1.pt"));  // the second cycle (twice as long) does not end in 2 epochs
  CHECK(keys(out / "cyc_0.pt") == keys(out / "model.pt"));
  CHECK(csv_rows(out / "epochs.csv").size() == 3);
}
