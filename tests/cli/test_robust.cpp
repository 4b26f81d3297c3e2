// Ordinary mistakes that must never destroy a good run or take the machine: empty paths, a
// second run into the same directory, two writers at once, a stderr that cannot be written,
// a text changed under a run, counts beyond the machine, failures in other libraries' words,
// and the reserved index 0 in generated text.
#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "cli_case.h"
#include "train/io/checkpoint.h"

using namespace charnn;
using namespace charnn::test;
namespace fs = std::filesystem;

namespace {

std::map<std::string, std::string> run_files(const fs::path& dir) {
  std::map<std::string, std::string> files;
  for (const char* name : {"config.json", "model.pt", "train_state.pt", "epochs.csv", "batches.csv"}) {
    if (fs::exists(dir / name)) files[name] = read_file(dir / name);
  }
  return files;
}

// The exit status of `charnn ARGS` run by the shell with `redirect` applied to it (the
// process helper always gives the child a stderr file).
int shell_status(const std::string& args, const std::string& redirect) {
  const auto command = fmt::format("'{}' {} >/dev/null {}", CHARNN_CLI_PATH, args, redirect);
  const int status = std::system(command.c_str());
  REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

std::string quoted(const fs::path& p) { return "'" + p.string() + "'"; }

const std::vector<std::string> kTiny{"--model", "char-rnn", "--n-hidden", "16", "--n-fac", "8", "--bs", "64",
                                     "--fit", "1@1e-2"};

std::vector<std::string> plus(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace

// ---- 1: empty paths ------------------------------------------------------------------------

TEST_CASE("robust: an empty --resume, --text, --out or --checkpoint is a usage error", "[cli][robust]") {
  const auto dir = fresh_dir("robust-empty-paths");
  expect_error(run_cli({"train", "--no-progress", "--resume", ""}, dir, "resume"), "--resume: must not be empty", 2);
  expect_error(run_cli({"train", "--no-progress", "--text", "", "--out", (dir / "r").string()}, dir, "text"),
               "--text: must not be empty", 2);
  expect_error(run_cli({"train", "--no-progress", "--out", ""}, dir, "out"), "--out: must not be empty", 2);
  expect_error(run_cli({"sample", "--checkpoint", "", "--prompt", "abcdefgh"}, dir, "sample"),
               "--checkpoint: must not be empty", 2);
  CHECK(!fs::exists(dir / "r"));
}

// ---- 2: a new run over an existing one -----------------------------------------------------

TEST_CASE("robust: a fresh run into a directory holding a run refuses without --force", "[cli][robust]") {
  const auto dir = fresh_dir("robust-refuse");
  const auto run = tiny_run(dir, synthetic_text(3000));
  const auto before = run_files(run);
  REQUIRE(before.count("model.pt") == 1);
  expect_error(run_cli(train_args(dir / "tiny.txt", run, kTiny), dir, "again"),
               fmt::format("--out {}: holds a run; continue it with --resume {}, or replace it with --force",
                           run.string(), run.string()));
  CHECK(run_files(run) == before);
}

TEST_CASE("robust: --force keeps the old run until the new one's first checkpoint", "[cli][robust]") {
  const auto dir = fresh_dir("robust-force");
  const auto run = tiny_run(dir, synthetic_text(3000));
  const auto before = run_files(run);

  // A failure before the first checkpoint: the old run is back in place.
  write_file(dir / "short.txt", "abc");
  const auto failed = run_cli(train_args(dir / "short.txt", run, plus(kTiny, {"--force"})), dir, "failed");
  expect_error(failed, "short.txt: text of 3 characters");
  CHECK(run_files(run) == before);
  CHECK(!fs::exists(run / ".replaced-run"));

  // Killed before its first checkpoint (held at step 10 of a long first epoch, no periodic
  // checkpoints, batches.csv written): the next `train` on the directory puts the old run back
  // before it does anything else, and until then `sample` reads the old run.
  write_file(dir / "long.txt", synthetic_text(40000, 5));
  CliProcess p(train_args(dir / "long.txt", run,
                          {"--model", "char-rnn", "--n-hidden", "32", "--bs", "64", "--checkpoint-every", "0",
                           "--force"}),
               dir, "killed", hold_at("step:10"));
  wait_for_hold(p, "step:10");
  REQUIRE(fs::exists(run / "batches.csv"));
  REQUIRE(!fs::exists(run / "train_state.pt"));
  p.send(SIGKILL);
  REQUIRE(p.wait().term_signal == SIGKILL);
  CHECK(!fs::exists(run / "train_state.pt"));
  CHECK(fs::is_directory(run / ".replaced-run"));
  const auto sampled = run_cli({"sample", "--checkpoint", run.string(), "--prompt", "the water", "-n", "20"}, dir,
                               "sample-parked");
  expect_success(sampled);
  CHECK(sampled.out.rfind("the water", 0) == 0);
  // The old run was finished: resuming it restores it and has nothing left to do.
  expect_success(run_cli({"train", "--no-progress", "--resume", run.string()}, dir, "resume-old"));
  CHECK(run_files(run) == before);
  CHECK(!fs::exists(run / ".replaced-run"));

  // A successful replacement leaves only the new run.
  expect_success(run_cli(train_args(dir / "tiny.txt", run, plus(kTiny, {"--seed", "9", "--force"})), dir, "new"));
  CHECK(read_file(run / "model.pt") != before.at("model.pt"));
  CHECK(!fs::exists(run / ".replaced-run"));
}

// ---- 3: one writer per run directory -------------------------------------------------------

TEST_CASE("robust: a second writer of a run directory gets one line and exit 1", "[cli][robust]") {
  const auto dir = fresh_dir("robust-lock");
  const auto out = dir / "run";
  write_file(dir / "long.txt", synthetic_text(40000, 5));
  CliProcess first(train_args(dir / "long.txt", out, {"--model", "char-rnn", "--n-hidden", "32", "--bs", "64"}), dir,
                   "first", hold_at("step:10"));
  wait_for_hold(first, "step:10");
  const auto config = read_file(out / "config.json");
  const auto message = fmt::format("{}: another charnn process is writing this run directory", out.string());
  expect_error(run_cli(train_args(dir / "long.txt", out, {"--force", "--n-hidden", "8"}), dir, "second"), message);
  expect_error(run_cli({"train", "--no-progress", "--resume", out.string()}, dir, "third"), message);
  CHECK(read_file(out / "config.json") == config);
  first.send(SIGKILL);
  first.wait();
}

// ---- 4: stderr that cannot be written ------------------------------------------------------

TEST_CASE("robust: a full or closed stderr never aborts; the exit status stays the documented one",
          "[cli][robust]") {
  const auto dir = fresh_dir("robust-stderr");
  write_file(dir / "text.txt", synthetic_text(3000));
  const auto ok_args = [&](const std::string& name) {
    return fmt::format("train --text {} --out {} --model char-rnn --n-hidden 16 --bs 64", quoted(dir / "text.txt"),
                       quoted(dir / name));
  };
  for (const std::string redirect : {"2>/dev/full", "2>&-"}) {
    INFO(redirect);
    CHECK(shell_status("train --text " + quoted(dir / "missing.txt") + " --out " + quoted(dir / "x"), redirect) == 1);
    CHECK(shell_status("train --bs 0", redirect) == 2);
    CHECK(shell_status(ok_args(redirect == "2>&-" ? "closed" : "full"), redirect) == 0);
    CHECK(shell_status("train --resume " + quoted(dir / "full"), redirect) == 0);
  }
}

// ---- 5: resume checks the text itself ------------------------------------------------------

TEST_CASE("robust: resume refuses a text changed in place or appended to, naming the file", "[cli][robust]") {
  const auto dir = fresh_dir("robust-text-changed");
  const auto run = tiny_run(dir, synthetic_text(3000));
  const auto text = read_file(dir / "tiny.txt");
  const auto resume = [&] { return run_cli({"train", "--no-progress", "--resume", run.string()}, dir, "resume"); };
  expect_success(resume());

  auto changed = text;
  changed[1500] = changed[1500] == 'a' ? 'b' : 'a';
  write_file(dir / "tiny.txt", changed);
  expect_error(resume(), fmt::format("{}: the text differs from the one the run was trained on (3000 bytes",
                                     fs::absolute(dir / "tiny.txt").lexically_normal().string()));
  write_file(dir / "tiny.txt", text + "x");
  expect_error(resume(), "the text differs from the one the run was trained on (3001 bytes");
  write_file(dir / "tiny.txt", text);
  expect_success(resume());
}

TEST_CASE("robust: with --max-chars only the prefix trained on must match, and only it is read", "[cli][robust]") {
  const auto dir = fresh_dir("robust-max-chars");
  // Invalid UTF-8 after the prefix: a reader of the whole file would refuse it.
  write_file(dir / "text.txt", synthetic_text(10000) + "\xff\xfe tail");
  const auto out = dir / "run";
  expect_success(run_cli(train_args(dir / "text.txt", out, plus(kTiny, {"--max-chars", "2000"})), dir, "train"));
  const auto resume = [&] { return run_cli({"train", "--no-progress", "--resume", out.string()}, dir, "resume"); };
  expect_success(resume());
  write_file(dir / "text.txt", synthetic_text(10000) + "\xff\xfe tail, longer");
  expect_error(resume(), "the file changed since the run started");
}

TEST_CASE("robust: a relative --text is stored absolute, so resume works from any directory", "[cli][robust]") {
  const auto dir = fresh_dir("robust-relative-text");
  write_file(dir / "text.txt", synthetic_text(3000));
  const auto out = dir / "run";
  // Started where text.txt is, resumed from another directory.
  const auto command = fmt::format("cd {} && '{}' train --no-progress --text text.txt --out run --model char-rnn "
                                   "--n-hidden 16 --bs 64 >/dev/null 2>&1",
                                   quoted(dir), CHARNN_CLI_PATH);
  REQUIRE(std::system(command.c_str()) == 0);
  CHECK_THAT(read_file(out / "config.json"),
             Catch::Matchers::Contains(fmt::format("\"text\": \"{}\"", fs::absolute(dir / "text.txt").string())));
  expect_success(run_cli({"train", "--no-progress", "--resume", out.string()}, fresh_dir("robust-elsewhere"), "r"));
}

// ---- 6: bounded resources ------------------------------------------------------------------

TEST_CASE("robust: --shards beyond the machine names the flag", "[cli][robust]") {
  const auto dir = fresh_dir("robust-shards");
  write_file(dir / "text.txt", synthetic_text(3000));
  for (const std::string shards : {"1000000", "4294967297"}) {
    expect_error(run_cli(train_args(dir / "text.txt", dir / "run", {"--shards", shards}), dir, "shards"),
                 fmt::format("threads (this machine has {} cores), got {}", std::thread::hardware_concurrency(),
                             shards));
  }
  CHECK(!fs::exists(dir / "run"));
}

TEST_CASE("robust: devices and links to them are never read", "[cli][robust]") {
  const auto dir = fresh_dir("robust-devices");
  expect_error(run_cli(train_args("/dev/zero", dir / "run", {"--max-chars", "1000"}), dir, "zero"),
               "/dev/zero: is not a regular file");
  const auto run = tiny_run(dir, synthetic_text(3000));
  fs::remove(run / "model.pt");
  fs::create_symlink("/dev/zero", run / "model.pt");
  const auto r = run_cli({"sample", "--checkpoint", run.string(), "--prompt", "the quick brown"}, dir, "sample");
  expect_error(r, "model.pt: is not a regular file");
}

TEST_CASE("robust: a signal before training starts ends the process at once", "[cli][robust]") {
  // Held after the directory is locked and the handlers are in place, before the text is read:
  // a SIGTERM there has no batch boundary to wait for.
  const auto dir = fresh_dir("robust-early-signal");
  write_file(dir / "text.txt", synthetic_text(30000));
  CliProcess p(train_args(dir / "text.txt", dir / "run", {"--model", "char-rnn", "--bs", "4"}), dir, "early",
               hold_at("start"));
  wait_for_hold(p, "start");
  p.send(SIGTERM);
  const auto r = p.wait();
  CHECK(r.term_signal == SIGTERM);
  CHECK(!fs::exists(dir / "run" / "batches.csv"));
}

// ---- 7: errors in our words ----------------------------------------------------------------

TEST_CASE("robust: sizes beyond memory, an empty schedule and link loops are named", "[cli][robust]") {
  const auto dir = fresh_dir("robust-our-words");
  write_file(dir / "text.txt", synthetic_text(3000));
  for (const auto& [flag, value] : std::vector<std::pair<std::string, std::string>>{
           {"--n-hidden", "100000000"}, {"--n-fac", "100000000000"}, {"--window", "100000000000"}}) {
    expect_error(run_cli(train_args(dir / "text.txt", dir / "run", {flag, value}), dir, "size"),
                 fmt::format("{} {}", flag, value));
  }
  const auto run = tiny_run(dir, synthetic_text(3000));
  auto config = read_file(run / "config.json");
  const auto at = config.find("\"schedule\": [");
  REQUIRE(at != std::string::npos);
  const auto end = config.find(']', at);
  write_file(run / "config.json", config.substr(0, at) + "\"schedule\": [" + config.substr(end));
  expect_error(run_cli({"train", "--no-progress", "--resume", run.string()}, dir, "schedule"),
               "config.json: 'schedule' is empty");
  fs::create_symlink(dir / "loop-b", dir / "loop-a");
  fs::create_symlink(dir / "loop-a", dir / "loop-b");
  expect_error(run_cli(train_args(dir / "loop-a", dir / "run2"), dir, "loop"), "loop-a: cannot be read");
}

// ---- 8: generation never emits index 0 -----------------------------------------------------

TEST_CASE("robust: sampling never prints the reserved \\0, and non-finite weights are named", "[cli][robust]") {
  const auto dir = fresh_dir("robust-reserved");
  const auto run = tiny_run(dir, synthetic_text(3000));
  const auto prompt = synthetic_text(3000).substr(0, 15);
  // At temperature 1000 every character is about equally likely, index 0 included.
  const auto hot = run_cli({"sample", "--checkpoint", run.string(), "--prompt", prompt, "-n", "3000",
                            "--temperature", "1000"},
                           dir, "hot");
  expect_success(hot);
  CHECK(hot.out.size() > 3000);
  CHECK(hot.out.find('\0') == std::string::npos);

  const auto cold = run_cli({"sample", "--checkpoint", run.string(), "--prompt", prompt, "--temperature",
                             "1e-45"},
                            dir, "cold");
  expect_error(cold, "--temperature 1e-45: the checkpoint's probabilities are not finite");

  auto weights = read_tensor_dict(run / "model.pt");
  REQUIRE(weights.count("l_out.bias") == 1);
  weights.at("l_out.bias").fill_(std::nan(""));
  write_tensor_dict(weights, run / "model.pt");
  expect_error(run_cli({"sample", "--checkpoint", run.string(), "--prompt", prompt}, dir, "nan"),
               "model.pt: the checkpoint gives non-finite scores");
}
