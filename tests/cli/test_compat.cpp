// Runs saved by the previous release (tests/data/charnn-0.2.0: config.json format 1,
// train_state.pt version 1) resume in this one and end byte for byte as this release's own run
// of the same settings ends.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli_case.h"

using namespace charnn::test;
namespace fs = std::filesystem;

namespace {

struct SavedRun {
  const char* name;
  size_t text_chars;
  uint32_t text_seed;
  std::vector<std::string> settings;
};

// 0.2.0 had only PyTorch's layers: the plain step, which continues its numbers bit for bit.
const std::vector<std::string> kCadence{"--checkpoint-every", "5", "--metrics-every", "5", "--plain"};

}  // namespace

TEST_CASE("compat: a run saved by charnn 0.2.0 resumes and ends as this charnn's own run", "[cli][compat]") {
  const auto saved = GENERATE(
      SavedRun{"windowed", 3000, 1,
               {"--model", "char-rnn", "--n-hidden", "8", "--n-fac", "4", "--bs", "16", "--seed", "3", "--fit",
                "2@1e-2", "--fit", "1@1e-3"}},
      SavedRun{"stateful", 30000, 5,
               {"--model", "char-seq-stateful-lstm", "--n-hidden", "8", "--n-fac", "4", "--seed", "3", "--wd",
                "1e-5", "--fit", "1@1e-2", "--fit", "2@prev:cos2"}});
  const auto dir = fresh_dir(std::string("compat-") + saved.name);
  write_file(dir / "text.txt", synthetic_text(saved.text_chars, saved.text_seed));
  const auto old = dir / "old";
  fs::copy(fs::path(CHARNN_SOURCE_DIR) / "tests" / "data" / "charnn-0.2.0" / saved.name, old);
  auto config = nlohmann::json::parse(read_file(old / "config.json"));
  REQUIRE(config.at("format") == "charnn-run/1");
  config["text"] = (dir / "text.txt").string();
  write_file(old / "config.json", config.dump(2));

  const auto resumed = run_cli(with({"train", "--no-progress", "--resume", old.string()}, kCadence), dir, "resume");
  expect_success(resumed);
  CHECK_THAT(resumed.err, Catch::Matchers::Contains("charnn: resuming " + old.string() + " at fit call 1, epoch 0, batch"));
  const auto fresh = dir / "fresh";
  expect_success(run_cli(train_args(dir / "text.txt", fresh, with(saved.settings, kCadence)), dir, "fresh"));
  for (const char* name : {"model.pt", "train_state.pt", "batches.csv"}) {
    INFO(name);
    CHECK(read_file(old / name) == read_file(fresh / name));
  }
  // The resumed run's config.json is still the one 0.2.0 wrote; a fresh one is this release's.
  CHECK(nlohmann::json::parse(read_file(fresh / "config.json")).at("format") == "charnn-run/2");
}
