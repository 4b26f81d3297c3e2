// Runs saved by the previous release (tests/data/charnn-0.2.0: config.json format 1,
// train_state.pt version 1) resume in this one and end as this release's own run of the same
// settings ends: the same steps, rates and batches, the losses and weights to rounding.
//
// Not byte for byte: the saved runs' first steps were computed on the machine that made them,
// and another CPU's matrix kernels (OpenBLAS picks them by CPU) round otherwise. Measured:
// identical on the machine that made them; with OpenBLAS's Sandybridge kernels and LibTorch's
// unvectorized ones (OPENBLAS_CORETYPE=Sandybridge ATEN_CPU_CAPABILITY=default), losses 1e-6
// apart and weights 2.9e-6. A restore that lost something lands far outside the bounds: Adam
// restarted from zeroed moments moves each weight by about the rate (1e-2) in its first step,
// and another batch or dropout draw is another loss.
#include <fmt/format.h>

#include <cmath>

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

// batches.csv: fit, lr, epoch, batch, step equal as written; loss and smoothed loss to rounding.
void expect_same_batches(const fs::path& a, const fs::path& b, double loss_bound) {
  const auto x = csv_rows(a), y = csv_rows(b);
  REQUIRE(x.size() == y.size());
  REQUIRE(x.size() > 3);
  const auto before_losses = [](const std::string& row) { return row.substr(0, row.rfind(',', row.rfind(',') - 1)); };
  for (size_t i = 0; i < x.size(); ++i) CHECK(before_losses(x[i]) == before_losses(y[i]));
  double worst = 0;
  for (const size_t col : {5, 6}) {
    const auto u = csv_column(a, col), v = csv_column(b, col);
    REQUIRE(u.size() == v.size());
    for (size_t i = 0; i < u.size(); ++i) worst = std::max(worst, std::abs(u[i] - v[i]));
  }
  WARN(a.parent_path().filename().string() << ": worst loss difference " << worst);
  CHECK(worst <= loss_bound);
}

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
  expect_same_batches(old / "batches.csv", fresh / "batches.csv", 1e-5);
  const double weights = worst_weight_difference(old, fresh);
  WARN(saved.name << ": worst weight difference " << weights);
  CHECK(weights <= 1e-4);
  // The resumed run's config.json is still the one 0.2.0 wrote; a fresh one is this release's.
  CHECK(nlohmann::json::parse(read_file(fresh / "config.json")).at("format") == "charnn-run/2");
}
