// One run over two processes on loopback (c10d: a TCPStore and a Gloo process group): the same
// training as one process with the same global batch, one writer, every rank stopping at the same
// boundary, exact resume (with the same world size or another), and faults that end in one line
// instead of a hang.
#include <fmt/format.h>
#include <signal.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "cli_case.h"

using namespace charnn;
using namespace charnn::test;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kParallelRnn{"--model", "char-rnn", "--n-hidden", "32", "--bs", "64", "--seed", "2",
                                         "--fit", "1@3e-3", "--fit", "1@1e-3", "--plain"};
// The LSTM with its dropout, weight decay and a CosAnneal call from the previous rate.
const std::vector<std::string> kParallelLstm{"--model", "char-seq-stateful-lstm", "--n-hidden", "32", "--seed", "2",
                                     "--wd", "1e-5", "--fit", "1@1e-2", "--fit", "1@prev:cos2",
                                     "--metrics-every", "1"};

// A shard of a one-process run multiplies on one OpenBLAS thread; each rank here does too, so
// that the two layouts run the same kernels. With more threads, OpenBLAS's kernels for some CPUs
// (its Haswell ones, for one) sum a product in another order, and the layouts agree to rounding.
const std::string kOneBlasThread = "OPENBLAS_NUM_THREADS=1";

std::vector<std::string> rank_env(int rank, int port, int world = 2) {
  return {fmt::format("RANK={}", rank), fmt::format("WORLD_SIZE={}", world), "MASTER_ADDR=127.0.0.1",
          fmt::format("MASTER_PORT={}", port), kOneBlasThread};
}

std::vector<std::string> joined(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Two ranks of one run, each with the same arguments.
std::pair<CliResult, CliResult> two_ranks(const std::vector<std::string>& args, const fs::path& dir,
                                          const std::string& tag) {
  const int port = free_port();
  CliProcess rank0(args, dir, tag + "-rank0", rank_env(0, port));
  CliProcess rank1(args, dir, tag + "-rank1", rank_env(1, port));
  auto r1 = rank1.wait();
  return {rank0.wait(), r1};
}

}  // namespace

TEST_CASE("parallel: two ranks train as one process of two shards, bit for bit, and one writes", "[cli][parallel]") {
  const auto dir = fresh_dir("parallel-windowed");
  write_file(dir / "text.txt", synthetic_text(30000, 3));
  const auto single = dir / "single";
  expect_success(run_cli(train_args(dir / "text.txt", single, joined(kParallelRnn, {"--shards", "2"})), dir, "single"));
  const auto out = dir / "ranks";
  const auto [r0, r1] = two_ranks(train_args(dir / "text.txt", out, joined(kParallelRnn, {"--shards", "1"})), dir, "dp");
  expect_success(r0);
  expect_success(r1);
  CHECK(r1.out.empty());  // rank 1 trains quietly; rank 0 prints the rows and writes the run
  CHECK(r1.err.empty());
  CHECK(r0.out == read_file(dir / "single.stdout"));
  for (const char* name : {"model.pt", "epochs.csv", "batches.csv"}) {
    INFO(name);
    CHECK(read_file(out / name) == read_file(single / name));
  }
  const auto config = nlohmann::json::parse(read_file(out / "config.json"));
  CHECK(config.at("world_size") == 2);
  CHECK(config.at("backend") == "gloo");
}

TEST_CASE("parallel: the LSTM over two ranks, its columns each, follows one process to rounding",
          "[cli][parallel]") {
  const auto dir = fresh_dir("parallel-lstm");
  write_file(dir / "text.txt", synthetic_text(30000, 3));
  const auto single = dir / "single";
  expect_success(run_cli(train_args(dir / "text.txt", single, kParallelLstm), dir, "single", {kOneBlasThread}));
  const auto out = dir / "ranks";
  const auto [r0, r1] = two_ranks(train_args(dir / "text.txt", out, kParallelLstm), dir, "dp");
  expect_success(r0);
  expect_success(r1);
  // Every step's loss and rate, the epoch rows in full, and the weights. Each rank's weight
  // gradients reduce over its columns in one product, then the two are added: other sums than
  // the single process's one product, last-bit apart, which 88 Adam steps at 1e-2 carry into
  // the losses and weights. Measured here: losses 1e-6 apart (one unit of batches.csv's sixth
  // decimal), weights 2.5e-5 (the largest is about 0.75); with OpenBLAS's Haswell kernels
  // (OPENBLAS_CORETYPE=Haswell), 2e-6 and 6.3e-5. The bounds leave room for other CPUs'
  // rounding.
  const auto a = csv_column(out / "batches.csv", 5), b = csv_column(single / "batches.csv", 5);
  REQUIRE(a.size() == b.size());
  REQUIRE(a.size() > 50);
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  CHECK(worst <= 1e-5);
  CHECK(csv_column(out / "batches.csv", 1) == csv_column(single / "batches.csv", 1));
  for (const size_t c : {4, 5}) {
    const auto x = csv_column(out / "epochs.csv", c), y = csv_column(single / "epochs.csv", c);
    REQUIRE(x.size() == y.size());
    for (size_t i = 0; i < x.size(); ++i) CHECK(std::abs(x[i] - y[i]) <= 1e-5);
  }
  const double weights = worst_weight_difference(out, single);
  CHECK(weights <= 5e-4);
  WARN("LSTM over 2 ranks: worst step loss difference " << worst << ", worst weight difference " << weights);
}

TEST_CASE("parallel: SIGINT to one rank stops both at one boundary, and the run resumes on two ranks or on one",
          "[cli][parallel][resume]") {
  const auto dir = fresh_dir("parallel-resume");
  write_file(dir / "text.txt", synthetic_text(30000, 3));
  const auto single = dir / "single";
  expect_success(run_cli(train_args(dir / "text.txt", single, joined(kParallelRnn, {"--shards", "2"})), dir, "single"));
  const auto out = dir / "ranks";
  const auto args = train_args(dir / "text.txt", out, joined(kParallelRnn, {"--shards", "1"}));
  const int port = free_port();
  CliProcess rank0(args, dir, "rank0", rank_env(0, port));
  CliProcess rank1(args, dir, "rank1", joined(rank_env(1, port), hold_at("step:100")));
  wait_for_hold(rank1, "step:100");
  rank1.send(SIGINT);
  const auto s1 = rank1.wait(), s0 = rank0.wait();
  CHECK(s1.exit_code == 128 + SIGINT);
  CHECK(s0.exit_code == 128 + SIGINT);  // stopped by rank 1's signal, saying it
  CHECK_THAT(s0.err, Catch::Matchers::Contains("interrupted by signal 2 in fit call 1, epoch 0, batch 100"));
  fs::copy(out, dir / "copy", fs::copy_options::recursive);

  // Two ranks again: the uninterrupted run, bit for bit.
  const auto [r0, r1] = two_ranks({"train", "--no-progress", "--resume", out.string(), "--plain"}, dir, "resume");
  expect_success(r0);
  expect_success(r1);
  CHECK(read_file(out / "model.pt") == read_file(single / "model.pt"));
  CHECK(read_file(out / "epochs.csv") == read_file(single / "epochs.csv"));
  // One process: the same batches and updates (its one shard sums in another order).
  const auto alone = run_cli({"train", "--no-progress", "--resume", (dir / "copy").string(), "--plain"}, dir, "alone");
  expect_success(alone);
  CHECK_THAT(alone.err, Catch::Matchers::Contains("started on 2 process(es) and continues on 1"));
  CHECK(worst_weight_difference(dir / "copy", single) <= 1e-5);
}

TEST_CASE("parallel: a rank that dies, one that falls silent, one started otherwise, an unreachable master",
          "[cli][parallel]") {
  const auto dir = fresh_dir("parallel-faults");
  write_file(dir / "text.txt", synthetic_text(30000, 3));
  const auto args = train_args(dir / "text.txt", dir / "run",
                               joined(kParallelRnn, {"--shards", "1", "--checkpoint-every", "20", "--dist-timeout", "5"}));
  {
    // Killed: the other rank ends with one line at once; the last checkpoint stays whole.
    const int port = free_port();
    CliProcess rank0(args, dir, "killed-rank0", rank_env(0, port));
    CliProcess rank1(args, dir, "killed-rank1", joined(rank_env(1, port), hold_at("step:50")));
    wait_for_hold(rank1, "step:50");
    rank1.send(SIGKILL);
    const auto r = rank0.wait();
    INFO(r.err);
    CHECK(r.exit_code == 1);
    REQUIRE(r.err_lines().size() == 1);
    CHECK_THAT(r.err, Catch::Matchers::Contains("charnn: error: rank 0 of 2: the process group failed"));
    CHECK_NOTHROW(read_resume_point(dir / "run"));
  }
  {
    // Silent (stopped, not dead): an error after --dist-timeout, not a hang.
    const int port = free_port();
    CliProcess rank0(with(args, {"--force"}), dir, "silent-rank0", rank_env(0, port));
    CliProcess rank1(with(args, {"--force"}), dir, "silent-rank1", joined(rank_env(1, port), hold_at("step:30")));
    wait_for_hold(rank1, "step:30");
    rank1.send(SIGSTOP);
    const auto r = rank0.wait();
    rank1.send(SIGKILL);
    rank1.send(SIGCONT);
    INFO(r.err);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Matchers::Contains("stopped answering for 5 s"));
  }
  {
    // Another seed on rank 1: refused before training, each rank saying what it knows.
    const int port = free_port();
    const auto base = train_args(dir / "text.txt", dir / "mismatch", {"--model", "char-rnn", "--n-hidden", "16"});
    CliProcess rank0(with(base, {"--seed", "1"}), dir, "mismatch-rank0", rank_env(0, port));
    CliProcess rank1(with(base, {"--seed", "3"}), dir, "mismatch-rank1", rank_env(1, port));
    const auto m1 = rank1.wait(), m0 = rank0.wait();
    expect_error(m1, "rank 1 of 2: its seed is 3, rank 0's is 1; every rank must be started alike");
    expect_error(m0, "rank 0 of 2: another rank was started with other settings");
    CHECK(!fs::exists(dir / "mismatch"));
  }
  // Nobody at the master's port.
  expect_error(run_cli(with(args, {"--force"}), dir, "unreachable", rank_env(1, free_port())),
               "rank 1 of 2: cannot reach the store at 127.0.0.1:");
}
