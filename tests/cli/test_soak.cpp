// The soak: one small run interrupted fifty times by random signals at random moments (two of
// them while a checkpoint is being written), resumed each time, must end byte for byte where
// an uninterrupted run ends. The randomness has a fixed seed, so a failure reproduces.
#include <fmt/format.h>
#include <signal.h>

#include <chrono>
#include <random>
#include <thread>

#include "cli_case.h"

using namespace charnn::test;
namespace fs = std::filesystem;

namespace {

// A few KB, a tiny model, a checkpoint and a metrics row every batch (so saves are frequent),
// and enough epochs that fifty interruptions land before the end.
const std::vector<std::string> kSoakRun{"--model", "char-rnn", "--n-hidden", "16", "--n-fac", "8", "--bs", "16",
                                        "--seed", "11", "--fit", "6@1e-2", "--fit", "4@3e-3"};
const std::vector<std::string> kCadence{"--checkpoint-every", "1", "--metrics-every", "1"};
constexpr int kCycles = 50;
const std::vector<int> kDuringSave{17, 34};  // cycles whose signal lands while model.pt.next exists

std::vector<std::string> joined(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

bool in_progress(const fs::path& out) { return fs::exists(out / "train_state.pt"); }

// Waits (without sleeping: a save lasts milliseconds) until a checkpoint is half-committed.
bool wait_for_save(CliProcess& p, const fs::path& out) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    if (fs::exists(out / "model.pt.next")) return true;
    if (!p.running()) return false;
  }
  return false;
}

// Waits until the process has logged a batch beyond what the file held when it started.
void wait_for_growth(CliProcess& p, const fs::path& csv, uintmax_t size_before) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline && p.running()) {
    if (fs::exists(csv) && fs::file_size(csv) > size_before) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// What each signal may end in: killed by it, stopped at a batch boundary (128 + signal), or
// finished first.
void check_ending(const CliResult& r, int sig) {
  INFO("signal " << sig << ", stderr: " << r.err);
  const bool killed = r.term_signal == sig;
  const bool stopped = r.term_signal == 0 && r.exit_code == 128 + sig && sig != SIGKILL;
  const bool finished = r.term_signal == 0 && r.exit_code == 0;
  CHECK((killed || stopped || finished));
}

}  // namespace

TEST_CASE("soak: fifty random kill-and-resume cycles end byte for byte like an uninterrupted run", "[cli][soak]") {
  const auto dir = fresh_dir("soak");
  write_file(dir / "text.txt", synthetic_text(4000, 13));
  const auto out = dir / "run";
  const auto fresh = train_args(dir / "text.txt", out, joined(joined(kSoakRun, kCadence), {"--force"}));
  const auto resume = joined({"train", "--no-progress", "--resume", out.string()}, kCadence);

  std::mt19937 rng(20260101);
  const int signals[] = {SIGKILL, SIGTERM, SIGINT};
  std::uniform_int_distribution<int> pick_signal(0, 2), pick_delay_ms(0, 300);
  int saves_hit = 0, finished_early = 0;
  for (int cycle = 0; cycle < kCycles; ++cycle) {
    const int sig = signals[pick_signal(rng)];
    const int delay_ms = pick_delay_ms(rng);
    // A run killed before its first checkpoint is started afresh; after that it is resumed.
    CliProcess p(in_progress(out) ? resume : fresh, dir, fmt::format("cycle{:02}", cycle));
    const auto logged = fs::exists(out / "batches.csv") ? fs::file_size(out / "batches.csv") : 0;
    const bool during_save = std::count(kDuringSave.begin(), kDuringSave.end(), cycle) == 1;
    if (during_save) {
      REQUIRE(wait_for_save(p, out));
      p.send(SIGKILL);
      ++saves_hit;
    } else {
      // Most signals land while training runs (after this process's first logged batch), a
      // few while it starts.
      if (cycle % 10 != 3) wait_for_growth(p, out / "batches.csv", logged);
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
      p.send(sig);
    }
    const auto r = p.wait();
    check_ending(r, during_save ? SIGKILL : sig);
    if (r.term_signal == 0 && r.exit_code == 0) ++finished_early;
  }
  CHECK(saves_hit == 2);
  CHECK(finished_early == 0);  // every cycle interrupted a run that still had work to do

  expect_success(run_cli(in_progress(out) ? resume : fresh, dir, "finish"));
  const auto reference = dir / "reference";
  expect_success(run_cli(train_args(dir / "text.txt", reference, joined(kSoakRun, kCadence)), dir, "reference"));
  for (const char* name : {"config.json", "model.pt", "train_state.pt", "epochs.csv", "batches.csv"}) {
    INFO(name);
    CHECK(read_file(out / name) == read_file(reference / name));
  }
}
