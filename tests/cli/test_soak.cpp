// The soak: one small run interrupted fifty times by random signals at random places (two of
// them while a checkpoint is being written), resumed each time, must end byte for byte where
// an uninterrupted run ends. The randomness has a fixed seed, so a failure reproduces.
//
// Every cycle's process is told to hold (CHARNN_TEST_HOLD) at a step before the end of the run,
// so no cycle can finish first, however fast the machine: the signal lands either at that step
// or at whatever moment a random delay after the process's start gives, before it.
#include <fmt/format.h>
#include <signal.h>

#include <chrono>
#include <random>
#include <thread>

#include "cli_case.h"
#include "train/run/session.h"

using namespace charnn::test;
namespace fs = std::filesystem;

namespace {

// A few KB, a tiny model, a checkpoint and a metrics row every batch (so saves are frequent),
// and enough epochs that fifty interruptions land before the end.
const std::vector<std::string> kSoakRun{"--model", "char-rnn", "--n-hidden", "16", "--n-fac", "8", "--bs", "16",
                                        "--seed", "11", "--fit", "6@1e-2", "--fit", "4@3e-3"};
const std::vector<std::string> kCadence{"--checkpoint-every", "1", "--metrics-every", "1"};
constexpr int kCycles = 50;
const std::vector<int> kDuringSave{17, 34};  // cycles killed while model.pt.next exists
constexpr int64_t kMaxAhead = 20;            // steps from the last checkpoint to a cycle's hold
constexpr int kMaxSavesAhead = 5;            // a save hold: one of the process's first few checkpoints

std::vector<std::string> joined(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

bool in_progress(const fs::path& out) { return fs::exists(out / "train_state.pt"); }

// The run's steps in all, from the uninterrupted run's final position.
int64_t total_steps(const fs::path& reference) { return charnn::read_resume_point(reference).step; }

// What each signal may end in: killed by it, or stopped at a batch boundary (128 + signal).
void check_ending(const CliResult& r, int sig) {
  INFO("signal " << sig << ", stderr: " << r.err);
  const bool killed = r.term_signal == sig;
  const bool stopped = r.term_signal == 0 && r.exit_code == 128 + sig && sig != SIGKILL;
  CHECK((killed || stopped));
}

}  // namespace

TEST_CASE("soak: fifty random kill-and-resume cycles end byte for byte like an uninterrupted run", "[cli][soak]") {
  const auto dir = fresh_dir("soak");
  write_file(dir / "text.txt", synthetic_text(4000, 13));
  const auto reference = dir / "reference";
  expect_success(run_cli(train_args(dir / "text.txt", reference, joined(kSoakRun, kCadence)), dir, "reference"));
  const int64_t total = total_steps(reference);

  const auto out = dir / "run";
  const auto fresh = train_args(dir / "text.txt", out, joined(joined(kSoakRun, kCadence), {"--force"}));
  const auto resume = joined({"train", "--no-progress", "--resume", out.string()}, kCadence);
  std::mt19937 rng(20260101);
  const int signals[] = {SIGKILL, SIGTERM, SIGINT};
  std::uniform_int_distribution<int> pick_signal(0, 2), pick_delay_ms(0, 300), pick_save(1, kMaxSavesAhead);
  int saves_hit = 0;
  for (int cycle = 0; cycle < kCycles; ++cycle) {
    const int sig = signals[pick_signal(rng)];
    const int delay_ms = pick_delay_ms(rng);
    // A run killed before its first checkpoint is started afresh; after that it is resumed.
    const int64_t done = in_progress(out) ? charnn::read_resume_point(out).step : 0;
    const bool during_save = std::count(kDuringSave.begin(), kDuringSave.end(), cycle) == 1;
    // The hold is a few steps ahead and before the last step, so the process cannot finish; half
    // the signals land at it, half at a random moment before it (a few while the process starts).
    const int64_t hold_step = done + std::uniform_int_distribution<int64_t>(1, kMaxAhead)(rng);
    REQUIRE(hold_step + kMaxSavesAhead < total);
    const bool at_hold = cycle % 2 == 0;
    const auto point = during_save ? fmt::format("save:{}", pick_save(rng)) : fmt::format("step:{}", hold_step);
    CliProcess p(in_progress(out) ? resume : fresh, dir, fmt::format("cycle{:02}", cycle), hold_at(point));
    if (during_save) {
      wait_for_hold(p, point);
      REQUIRE(fs::exists(out / "model.pt.next"));
      p.send(SIGKILL);
      ++saves_hit;
    } else {
      if (at_hold) wait_for_hold(p, point);
      if (!at_hold) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
      p.send(sig);
    }
    check_ending(p.wait(), during_save ? SIGKILL : sig);
  }
  CHECK(saves_hit == 2);

  expect_success(run_cli(in_progress(out) ? resume : fresh, dir, "finish"));
  for (const char* name : {"config.json", "model.pt", "train_state.pt", "epochs.csv", "batches.csv"}) {
    INFO(name);
    CHECK(read_file(out / name) == read_file(reference / name));
  }
}
