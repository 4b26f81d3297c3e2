// --device: auto picks CUDA when there is a device, else the CPU; a run resumes on whichever
// device it is asked to, whatever device saved it (train_state.pt holds CPU tensors).
#include <fmt/format.h>
#include <signal.h>

#include <chrono>
#include <cmath>
#include <thread>

#include "../cuda_skip.h"
#include "cli_case.h"

using namespace charnn;
using namespace charnn::test;
namespace fs = std::filesystem;

namespace {

// The (trn_loss, val_loss) of each epochs.csv row.
std::vector<std::pair<double, double>> epoch_losses(const fs::path& run) {
  std::vector<std::pair<double, double>> out;
  for (const auto& row : csv_rows(run / "epochs.csv")) {
    const auto last = row.rfind(','), before = row.rfind(',', last - 1);
    out.emplace_back(std::stod(row.substr(before + 1, last - before - 1)), std::stod(row.substr(last + 1)));
  }
  return out;
}

void expect_close_losses(const fs::path& reference, const fs::path& run, double tol) {
  const auto a = epoch_losses(reference), b = epoch_losses(run);
  REQUIRE(a.size() == 2);
  REQUIRE(b.size() == a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    INFO("epoch row " << i);
    CHECK(std::abs(a[i].first - b[i].first) <= tol);
    CHECK(std::abs(a[i].second - b[i].second) <= tol);
  }
}

// Starts a run on `from`, stops it with SIGINT after some steps, and resumes it on `to`.
fs::path interrupted_and_resumed(const fs::path& dir, const std::string& name, const std::string& from,
                                 const std::string& to) {
  const auto out = dir / name;
  CliProcess p(train_args(two_fit_corpus(dir), out, with(kTwoFitRun, {"--device", from, "--metrics-every", "1"})), dir,
               name, hold_at("step:40"));
  wait_for_hold(p, "step:40");
  p.send(SIGINT);
  const auto r = p.wait();
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 128 + SIGINT);
  const auto resumed = run_cli({"train", "--no-progress", "--resume", out.string(), "--device", to}, dir, name + "-resume");
  expect_success(resumed);
  CHECK_THAT(resumed.err, Catch::Matchers::Contains("charnn: resuming " + out.string()));
  return out;
}

}  // namespace

TEST_CASE("device: auto trains on CUDA when there is a device, else on the CPU, and a missing one is an error",
          "[cli][device]") {
  const auto dir = fresh_dir("device-auto");
  write_file(dir / "tiny.txt", synthetic_text(3000));
  const auto args = [&](const std::string& device) {
    return train_args(dir / "tiny.txt", dir / ("run-" + device),
                      {"--model", "char-rnn", "--n-hidden", "16", "--n-fac", "8", "--bs", "64", "--device", device});
  };
  expect_success(run_cli(args("auto"), dir, "auto"));
  CHECK(fs::exists(dir / "run-auto" / "model.pt"));
  expect_error(run_cli(args("tpu"), dir, "tpu"), "--device tpu: not a device (use cpu, cuda, cuda:N or auto)");
  expect_error(run_cli(args("meta"), dir, "meta"), "--device meta: not a device charnn trains on");
  if (torch::cuda::is_available()) {
    const auto beyond = fmt::format("cuda:{}", torch::cuda::device_count());
    expect_error(run_cli(args(beyond), dir, "beyond"), fmt::format("--device {}: there are", beyond));
  } else {
    expect_error(run_cli(args("cuda"), dir, "cuda"), "--device cuda: CUDA is not available here");
  }
}

// Exactness is not asserted on the GPU: charnn does not ask LibTorch for deterministic CUDA
// kernels, and a run that crosses devices crosses kernels too. The resumed runs' epoch losses
// agree with the uninterrupted CUDA run to the tolerances below.
TEST_CASE("device: a run on the GPU resumes on the CPU, a CPU run resumes on the GPU", "[cli][cuda]") {
  CHARNN_REQUIRE_CUDA();
  const auto dir = fresh_dir("device-cuda-resume");
  const auto reference = dir / "reference";
  expect_success(run_cli(
      train_args(two_fit_corpus(dir), reference, with(kTwoFitRun, {"--device", "cuda", "--metrics-every", "1"})), dir,
      "reference"));
  const auto losses = epoch_losses(reference);
  REQUIRE(losses.size() == 2);
  const auto first_batch = csv_rows(reference / "batches.csv").front();
  const auto first_loss = std::stod(first_batch.substr(first_batch.rfind(',', first_batch.rfind(',') - 1) + 1));
  CHECK(losses[1].second < first_loss - 0.5);  // it learns on the GPU

  expect_close_losses(reference, interrupted_and_resumed(dir, "cuda-cuda", "cuda", "cuda"), 1e-4);
  expect_close_losses(reference, interrupted_and_resumed(dir, "cuda-cpu", "cuda", "cpu"), 1e-3);
  expect_close_losses(reference, interrupted_and_resumed(dir, "cpu-cuda", "cpu", "cuda"), 1e-3);
}
