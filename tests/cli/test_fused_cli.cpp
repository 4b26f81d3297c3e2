// The fused layers in the run (the default) and PyTorch's (--plain): a run stopped under one
// resumes under the other, its files in the same format, its losses within the fused layers'
// tolerance of a run that never switched.
#include <fmt/format.h>
#include <signal.h>

#include <cmath>

#include "cli_case.h"
#include "train/io/checkpoint.h"

using namespace charnn;
using namespace charnn::test;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kLstm{"--model", "char-seq-stateful-lstm", "--n-hidden", "64", "--seed", "4",
                                     "--max-chars", "30000", "--fit", "1@1e-2", "--fit", "1@prev:cos2"};

std::vector<double> losses(const fs::path& run) {
  std::vector<double> out;
  for (const auto& row : csv_rows(run / "epochs.csv")) {
    const auto last = row.rfind(','), before = row.rfind(',', last - 1);
    out.push_back(std::stod(row.substr(before + 1, last - before - 1)));
    out.push_back(std::stod(row.substr(last + 1)));
  }
  return out;
}

std::vector<std::string> keys(const fs::path& file) {
  std::vector<std::string> out;
  for (const auto& [key, tensor] : read_tensor_dict(file)) out.push_back(key + shape_string(tensor));
  return out;
}

}  // namespace

TEST_CASE("fused: a run stopped with the fused layers resumes with --plain, and the reverse", "[cli][fused]") {
  const auto dir = fresh_dir("fused-switch");
  write_file(dir / "text.txt", synthetic_text(30000, 5));
  const auto plain = dir / "plain";
  expect_success(run_cli(train_args(dir / "text.txt", plain, with(kLstm, {"--plain"})), dir, "plain"));
  for (const bool fused_first : {true, false}) {
    const auto out = dir / (fused_first ? "fused-then-plain" : "plain-then-fused");
    const std::vector<std::string> first = fused_first ? std::vector<std::string>{} : std::vector<std::string>{"--plain"};
    const std::vector<std::string> then = fused_first ? std::vector<std::string>{"--plain"} : std::vector<std::string>{};
    CliProcess p(train_args(dir / "text.txt", out, with(kLstm, first)), dir, out.filename().string(),
                 hold_at("step:30"));
    wait_for_hold(p, "step:30");
    p.send(SIGINT);
    REQUIRE(p.wait().exit_code == 128 + SIGINT);
    expect_success(run_cli(with({"train", "--no-progress", "--resume", out.string()}, then), dir,
                           out.filename().string() + "-resume"));
    CHECK(keys(out / "model.pt") == keys(plain / "model.pt"));
    const auto a = losses(out), b = losses(plain);
    REQUIRE(a.size() == b.size());
    REQUIRE(a.size() == 4);
    for (size_t i = 0; i < a.size(); ++i) {
      INFO(out.filename() << " value " << i << ": " << a[i] << " against " << b[i]);
      CHECK(std::abs(a[i] - b[i]) <= 1e-4 * std::abs(b[i]));
    }
  }
}
