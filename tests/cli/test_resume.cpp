// Interruption and resume through the real CLI: a run stopped by SIGINT or SIGTERM at a
// batch boundary, or killed outright with SIGKILL, resumes to the same weights, the same
// epoch losses and the same metrics files as a run that was never interrupted.
#include <fmt/format.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

#include "cli_case.h"
#include "train/io/checkpoint.h"
#include "train/run/session.h"

using namespace charnn;
using namespace charnn::test;
namespace fs = std::filesystem;

namespace {

// kTwoFitRun's training batches per epoch (cli_case.h).
constexpr int64_t kBatchesPerEpoch = 250;

// The uninterrupted run every interrupted one is compared with.
fs::path reference_run(const fs::path& dir, const std::vector<std::string>& extra = {}) {
  const auto out = dir / "reference";
  expect_success(run_cli(train_args(two_fit_corpus(dir), out, with(kTwoFitRun, extra)), dir, "reference"));
  return out;
}

int64_t last_step(const fs::path& batches_csv) {
  const auto rows = csv_rows(batches_csv);
  if (rows.empty()) return 0;
  const auto& row = rows.back();
  size_t pos = 0;
  for (int i = 0; i < 4; ++i) pos = row.find(',', pos) + 1;  // fit,lr,epoch,batch,step,...
  return std::stoll(row.substr(pos));
}


void expect_same_weights(const fs::path& a, const fs::path& b) {
  const auto x = read_tensor_dict(a / "model.pt");
  const auto y = read_tensor_dict(b / "model.pt");
  REQUIRE(x.size() == y.size());
  for (const auto& [key, tensor] : x) {
    INFO(key);
    REQUIRE(y.count(key) == 1);
    CHECK(torch::equal(tensor, y.at(key)));
  }
}

// Same weights, same epoch rows (losses printed to 6 decimals), same batch log.
void expect_same_run(const fs::path& reference, const fs::path& resumed) {
  expect_same_weights(reference, resumed);
  CHECK(read_file(resumed / "epochs.csv") == read_file(reference / "epochs.csv"));
  CHECK(read_file(resumed / "batches.csv") == read_file(reference / "batches.csv"));
  CHECK(csv_rows(reference / "epochs.csv").size() == 2);
}

// --metrics-every and --checkpoint-every belong to the process, not the run: a resume that
// should log like the reference passes them again.
std::vector<std::string> resume_args(const fs::path& out, const std::vector<std::string>& cadence) {
  return with({"train", "--no-progress", "--resume", out.string()}, cadence);
}

CliResult resume(const fs::path& out, const fs::path& dir, const std::vector<std::string>& cadence,
                 const std::string& tag = "resume") {
  return run_cli(resume_args(out, cadence), dir, tag);
}

}  // namespace

TEST_CASE("resume: a saved run's position reads back from its own files, without the corpus", "[cli][resume]") {
  const auto dir = fresh_dir("resume-no-corpus");
  const auto out = reference_run(dir);
  fs::rename(two_fit_corpus(dir), dir / "moved.txt");
  const auto at = read_resume_point(out);
  CHECK(at.fit == 2);
  CHECK(at.epoch == 0);
  CHECK(at.batch == 0);
  CHECK(at.step == 2 * kBatchesPerEpoch);
}

TEST_CASE("resume: SIGINT or SIGTERM mid-epoch stops at a batch boundary and resumes exactly", "[cli][resume]") {
  const int sig = GENERATE(SIGINT, SIGTERM);
  const auto dir = fresh_dir(sig == SIGINT ? "resume-sigint" : "resume-sigterm");
  const auto reference = reference_run(dir, {"--metrics-every", "5"});
  const auto out = dir / "run";

  CliProcess p(train_args(two_fit_corpus(dir), out, with(kTwoFitRun, {"--metrics-every", "5"})), dir, "interrupted",
               hold_at("step:40"));
  wait_for_hold(p, "step:40");
  p.send(sig);
  const auto r = p.wait();
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 128 + sig);
  // Where it stopped, as it says and as train_state.pt says: the batch boundary after step 40.
  const auto at = read_resume_point(out);
  CHECK(at.fit == 0);
  CHECK(at.epoch == 0);
  CHECK(at.batch == 40);
  CHECK(at.step == at.batch);
  CHECK_THAT(r.err, Catch::Matchers::Contains(fmt::format(
                        "charnn: interrupted by signal {} in fit call 1, epoch 0, batch {}; checkpoint saved.", sig,
                        at.batch)));
  CHECK_THAT(r.err, Catch::Matchers::Contains("resume with: charnn train --resume " + out.string()));
  CHECK(last_step(out / "batches.csv") <= at.step);

  const auto resumed = resume(out, dir, {"--metrics-every", "5"});
  expect_success(resumed);
  CHECK_THAT(resumed.err, Catch::Matchers::Contains(
                              fmt::format("charnn: resuming {} at fit call 1, epoch 0, batch {} (step {})",
                                          out.string(), at.batch, at.batch)));
  expect_same_run(reference, out);
  // The stdout rows of the resumed process are the two epochs (one per fit call) it finished.
  CHECK(std::count(resumed.out.begin(), resumed.out.end(), '\n') == 2);
}

TEST_CASE("resume: SIGKILL resumes from the last periodic checkpoint without duplicate metrics", "[cli][resume]") {
  const auto dir = fresh_dir("resume-sigkill");
  const auto reference = reference_run(dir, {"--checkpoint-every", "20", "--metrics-every", "5"});
  const auto out = dir / "run";
  // Killed in the second fit call, well past a checkpoint, so batches.csv holds rows the
  // checkpoint does not know about.
  const auto hold = fmt::format("step:{}", kBatchesPerEpoch + 55);
  CliProcess p(
      train_args(two_fit_corpus(dir), out, with(kTwoFitRun, {"--checkpoint-every", "20", "--metrics-every", "5"})), dir,
      "killed", hold_at(hold));
  wait_for_hold(p, hold);
  p.send(SIGKILL);
  const auto killed = p.wait();
  REQUIRE(killed.term_signal == SIGKILL);
  const auto at = read_resume_point(out);
  INFO("checkpoint at step " << at.step << ", batches.csv to step " << last_step(out / "batches.csv"));
  CHECK(at.fit == 1);
  CHECK(at.step == kBatchesPerEpoch + 40);  // every 20 batches of the fit call
  CHECK(last_step(out / "batches.csv") == kBatchesPerEpoch + 55);

  const auto resumed = resume(out, dir, {"--checkpoint-every", "20", "--metrics-every", "5"});
  expect_success(resumed);
  CHECK_THAT(resumed.err, Catch::Matchers::Contains(fmt::format("at fit call 2, epoch 0, batch {} (step {})",
                                                                at.step - kBatchesPerEpoch, at.step)));
  expect_same_run(reference, out);
}

TEST_CASE("resume: files are whole at any instant a SIGKILL lands", "[cli][resume]") {
  // Checkpoints and metrics every batch, killed at spread-out moments: whatever is on disk
  // must parse and resume, never a half-written file. Each process holds a hundred steps on
  // from where it starts, so it cannot finish before its kill lands somewhere on the way.
  const auto dir = fresh_dir("resume-kill-anytime");
  const auto out = dir / "run";
  const std::vector<std::string> cadence{"--checkpoint-every", "1", "--metrics-every", "1"};
  const auto args = train_args(two_fit_corpus(dir), out, with(kTwoFitRun, cadence));
  int64_t killed_at_steps = 0;
  for (int round = 0; round < 6; ++round) {
    const auto hold = fmt::format("step:{}", killed_at_steps + 60);
    CliProcess p(round == 0 ? args : resume_args(out, cadence), dir, "round" + std::to_string(round), hold_at(hold));
    if (round % 2 == 0) wait_for_hold(p, hold);
    if (round % 2 == 1) std::this_thread::sleep_for(std::chrono::milliseconds(150 + 37 * round));
    p.send(SIGKILL);
    REQUIRE(p.wait().term_signal == SIGKILL);
    if (!fs::exists(out / "train_state.pt")) continue;  // killed while it started, before a checkpoint
    const auto at = read_resume_point(out);  // throws if train_state.pt or config.json is torn
    CHECK(at.step >= killed_at_steps);
    killed_at_steps = at.step;
    CHECK_NOTHROW(read_tensor_dict(out / "model.pt"));
    for (const char* csv : {"batches.csv", "epochs.csv"}) {
      const auto text = read_file(out / csv);
      if (!text.empty()) CHECK(text.back() == '\n');
    }
  }
  CHECK(killed_at_steps > 0);
  const auto finished = resume(out, dir, cadence, "finish");
  expect_success(finished);
  // Resumed five times from wherever the kills landed: still the uninterrupted run's numbers.
  const auto reference = reference_run(dir, cadence);
  expect_same_run(reference, out);
  for (const auto& e : fs::directory_iterator(out)) {
    INFO(e.path());
    CHECK(e.path().filename().string().find(".tmp.") == std::string::npos);  // no temp files left
  }
}

TEST_CASE("resume: a non-finite loss stops with its batch and step, keeping the last good checkpoint", "[cli][resume]") {
  const auto dir = fresh_dir("resume-non-finite");
  const auto out = dir / "run";
  // After one step at 1e37 the logits overflow float, so the loss is infinite or NaN whatever
  // the BLAS does with inf - inf (OpenBLAS gives NaN, the pip wheel's MKL keeps it infinite;
  // at 1e30 the MKL-built LibTorch's losses stay finite).
  const auto r = run_cli(train_args(two_fit_corpus(dir), out,
                                    {"--model", "char-rnn", "--n-hidden", "64", "--bs", "64", "--max-chars", "20000",
                                     "--fit", "1@1e37", "--checkpoint-every", "1"}),
                         dir);
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 1);
  const auto lines = r.err_lines();
  REQUIRE(lines.size() == 1);
  CHECK_THAT(lines[0], Catch::Matchers::StartsWith("charnn: error: fit call 1: training loss is "));
  CHECK_THAT(lines[0], Catch::Matchers::Contains("stopped before applying it; the last checkpoint (step "));
  // The checkpoint is the step just before the bad batch, and its weights are finite.
  const auto at = read_resume_point(out);
  CHECK_THAT(lines[0], Catch::Matchers::Contains(fmt::format("at epoch 0, batch {} (step {} of this fit)",
                                                              at.batch, at.step + 1)));
  CHECK_THAT(lines[0], Catch::Matchers::EndsWith(fmt::format("(step {} of the run) is kept in {}", at.step,
                                                              out.string())));
  for (const auto& [key, tensor] : read_tensor_dict(out / "model.pt")) {
    INFO(key);
    CHECK(torch::isfinite(tensor).all().item<bool>());
  }
}

TEST_CASE("resume: a stateful model's run stopped mid-epoch resumes exactly", "[cli][resume]") {
  // The LSTM with dropout, weight decay and a CosAnneal call started from the previous rate:
  // resuming needs numpy's stream, the loader's position, the carried hidden state, torch's
  // generator (the dropout masks) and the schedule's rate, all as they were.
  const std::vector<std::string> run{"--model", "char-seq-stateful-lstm", "--n-hidden", "128", "--seed", "3",
                                     "--wd", "1e-5", "--max-chars", "24000", "--fit", "1@1e-2",
                                     "--fit", "2@prev:cos2", "--metrics-every", "5"};
  const auto dir = fresh_dir("resume-stateful");
  const auto text = two_fit_corpus(dir);
  const auto reference = dir / "reference";
  expect_success(run_cli(train_args(text, reference, run), dir, "reference"));
  const auto out = dir / "run";
  const int64_t about_one_epoch = read_resume_point(reference).step / 3;  // epochs end when the rows run out
  const auto hold = fmt::format("step:{}", about_one_epoch + 15);
  CliProcess p(train_args(text, out, run), dir, "interrupted", hold_at(hold));
  wait_for_hold(p, hold);
  p.send(SIGINT);
  const auto r = p.wait();
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 128 + SIGINT);
  const auto at = read_resume_point(out);
  CHECK(at.fit == 1);
  CHECK(at.batch > 0);
  expect_success(resume(out, dir, {"--metrics-every", "5"}));
  expect_same_weights(reference, out);
  CHECK(read_file(out / "epochs.csv") == read_file(reference / "epochs.csv"));
  CHECK(read_file(out / "batches.csv") == read_file(reference / "batches.csv"));
  CHECK(csv_rows(reference / "epochs.csv").size() == 3);
  for (const char* cyc : {"cyc_0.pt"}) {
    INFO(cyc);
    REQUIRE(fs::exists(out / cyc));
    const auto x = read_tensor_dict(out / cyc), y = read_tensor_dict(reference / cyc);
    for (const auto& [key, tensor] : x) CHECK(torch::equal(tensor, y.at(key)));
  }
}
