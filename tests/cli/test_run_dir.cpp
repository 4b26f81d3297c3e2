// A run directory is one unit, whoever writes it: `lesson` takes it as `train` does (one
// writer, no run replaced without --force, an interrupted section resumed), nothing of the
// user's reaches gnuplot, the last line lists what is there, the lr column is the rate each
// batch used, sizes are bounded wherever they come from, and the exit codes say what happened.
#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_case.h"
#include "models/registry.h"
#include "train/cos_anneal.h"
#include "train/run/session.h"

using namespace charnn;
using namespace charnn::test;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kTiny{"--model", "char-rnn", "--n-hidden", "16", "--n-fac", "8", "--bs", "64",
                                     "--fit", "1@1e-2"};

// Every regular file under dir with its bytes.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) files[fs::relative(e.path(), dir).string()] = read_file(e.path());
  }
  return files;
}

// The "(a, b, c)" list of "charnn: run saved in DIR (...)".
std::vector<std::string> listed_files(const std::string& err) {
  const auto start = err.find("charnn: run saved in ");
  REQUIRE(start != std::string::npos);
  const auto open = err.find(" (", start), close = err.find(")\n", start);
  std::vector<std::string> names;
  std::string list = err.substr(open + 2, close - open - 2);
  for (size_t at = 0; at <= list.size();) {
    const auto comma = list.find(", ", at);
    names.push_back(list.substr(at, comma == std::string::npos ? std::string::npos : comma - at));
    if (comma == std::string::npos) break;
    at = comma + 2;
  }
  return names;
}

std::vector<std::string> present_files(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) {
    const auto name = e.path().filename().string();
    if (name[0] != '.') names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// A PNG's width and height, from its IHDR chunk.
std::pair<uint32_t, uint32_t> png_size(const fs::path& png) {
  const auto bytes = read_file(png);
  REQUIRE(bytes.size() > 24);
  REQUIRE(bytes.compare(1, 3, "PNG") == 0);
  auto u32 = [&](size_t at) {
    uint32_t v = 0;
    for (size_t i = 0; i < 4; ++i) v = v << 8 | static_cast<unsigned char>(bytes[at + i]);
    return v;
  };
  return {u32(16), u32(20)};
}

void edit_config(const fs::path& run, const std::function<void(nlohmann::json&)>& edit) {
  std::ifstream in(run / "config.json");
  auto j = nlohmann::json::parse(in);
  in.close();
  edit(j);
  write_file(run / "config.json", j.dump(2));
}

// A lesson into `out` on a short synthetic text, one section.
std::vector<std::string> lesson_args(const fs::path& text, const fs::path& out, const std::string& section,
                                     std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"lesson", "--quick", "--text", text.string(), "--out", out.string(), "--only", section};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

}  // namespace

// ---- one writer per run directory, whoever writes it -----------------------------------------

TEST_CASE("run dir: lesson refuses to replace a run it did not make, and --force replaces it", "[cli][rundir]") {
  const auto dir = fresh_dir("rundir-lesson-refuses");
  write_file(dir / "text.txt", synthetic_text(30000, 5));
  const auto section = dir / "lesson" / "char-seq-stateful-rnn2";
  expect_success(run_cli(train_args(dir / "text.txt", section, kTiny), dir, "train"));
  const auto before = snapshot(section);
  const auto refused = run_cli(lesson_args(dir / "text.txt", dir / "lesson", "char-seq-stateful-rnn2"), dir, "lesson");
  INFO(refused.err);
  CHECK(refused.exit_code == 1);
  CHECK_THAT(refused.err, Catch::Matchers::Contains(fmt::format(
                              "charnn: error: --out {}: {} holds a run with other settings (model char-rnn, not "
                              "char-seq-stateful-rnn2); pass --force to replace it",
                              (dir / "lesson").string(), section.string())));
  CHECK(snapshot(section) == before);
  expect_success(run_cli(lesson_args(dir / "text.txt", dir / "lesson", "char-seq-stateful-rnn2", {"--force"}), dir,
                         "forced"));
  std::ifstream in(section / "config.json");
  CHECK(nlohmann::json::parse(in).at("model") == "char-seq-stateful-rnn2");
}

TEST_CASE("run dir: lesson locks its directory, stops on SIGINT saying how to go on, and resumes exactly",
          "[cli][rundir]") {
  const auto dir = fresh_dir("rundir-lesson-lock");
  write_file(dir / "text.txt", synthetic_text(30000, 5));
  const auto reference = dir / "reference";
  expect_success(run_cli(lesson_args(dir / "text.txt", reference, "char-seq-stateful-rnn"), dir, "reference"));

  const auto out = dir / "lesson";
  CliProcess first(lesson_args(dir / "text.txt", out, "char-seq-stateful-rnn"), dir, "first", hold_at("step:20"));
  wait_for_hold(first, "step:20");
  // A second lesson, with another seed, and a resume of the section: both refused.
  const auto second = run_cli(lesson_args(dir / "text.txt", out, "char-seq-stateful-rnn", {"--seed", "1"}), dir,
                              "second");
  expect_error(second, fmt::format("{}: another charnn process is writing this run directory", out.string()));
  const auto resume = run_cli({"train", "--no-progress", "--resume", (out / "char-seq-stateful-rnn").string()}, dir,
                              "resume");
  expect_error(resume, "another charnn process is writing this run directory");

  first.send(SIGINT);
  const auto stopped = first.wait();
  INFO(stopped.err);
  CHECK(stopped.exit_code == 128 + SIGINT);
  CHECK_THAT(stopped.err, Catch::Matchers::Contains("charnn: lesson interrupted by signal 2 in char-seq-stateful-rnn "
                                                    "(fit call 1, epoch 0, batch 20)"));
  CHECK_THAT(stopped.err, Catch::Matchers::Contains("continue with the same `charnn lesson` command"));

  const auto again = run_cli(lesson_args(dir / "text.txt", out, "char-seq-stateful-rnn"), dir, "again");
  expect_success(again);
  CHECK_THAT(again.err, Catch::Matchers::Contains("charnn: resuming " + (out / "char-seq-stateful-rnn").string()));
  for (const char* name : {"model.pt", "train_state.pt", "epochs.csv", "batches.csv"}) {
    INFO(name);
    CHECK(read_file(out / "char-seq-stateful-rnn" / name) == read_file(reference / "char-seq-stateful-rnn" / name));
  }
  // The table's rows are the run's: the same digits as the uninterrupted lesson's.
  const auto table_rows = [](const fs::path& lesson) {
    std::vector<std::string> rows;
    std::istringstream in(read_file(lesson / "lesson.md"));
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("| char", 0) == 0) rows.push_back(line.substr(0, line.rfind(" | ", line.size() - 3)));
    }
    return rows;
  };
  CHECK(table_rows(out) == table_rows(reference));
  // A third time: the finished section is kept as it is.
  const auto before = snapshot(out / "char-seq-stateful-rnn");
  const auto kept = run_cli(lesson_args(dir / "text.txt", out, "char-seq-stateful-rnn"), dir, "kept");
  expect_success(kept);
  CHECK(snapshot(out / "char-seq-stateful-rnn") == before);
  CHECK(table_rows(out) == table_rows(reference));
}

// ---- nothing of the user's reaches an interpreter --------------------------------------------

TEST_CASE("run dir: a path with newlines, quotes and backslashes never reaches gnuplot as code", "[cli][rundir]") {
  REQUIRE(std::system("command -v gnuplot >/dev/null 2>&1") == 0);  // setup installs gnuplot-nox
  const auto dir = fresh_dir("rundir-plot-path");
  write_file(dir / "text.txt", synthetic_text(3000));
  const auto pwned = dir / "PWNED";
  for (const auto& name : {std::string("inj\nsystem \"touch ") + pwned.string() + "\"\nx", std::string("it's"),
                           std::string("q\"uo\\te\\\n'd")}) {
    INFO(name);
    const auto out = dir / name / "r";
    const auto r = run_cli(train_args(dir / "text.txt", out, kTiny), dir, "plot");
    expect_success(r);
    CHECK(!fs::exists(pwned));
    CHECK(fs::exists(out / "loss.png"));
    const auto listed = listed_files(r.err);
    CHECK(std::count(listed.begin(), listed.end(), "loss.png") == 1);
  }
}

// ---- the last line lists what is there -------------------------------------------------------

TEST_CASE("run dir: the last line lists the files written, and only those", "[cli][rundir]") {
  const auto dir = fresh_dir("rundir-last-line");
  write_file(dir / "text.txt", synthetic_text(3000));
  // No batch metrics: no batches.csv and no plot.
  const auto quiet = run_cli(train_args(dir / "text.txt", dir / "quiet", with(kTiny, {"--metrics-every", "0"})),
                             dir, "quiet");
  expect_success(quiet);
  CHECK(sorted(listed_files(quiet.err)) == present_files(dir / "quiet"));
  CHECK(!fs::exists(dir / "quiet" / "batches.csv"));
  CHECK(!fs::exists(dir / "quiet" / "loss.png"));
  // A gnuplot that fails: no loss.png, and none claimed.
  fs::create_directories(dir / "bin");
  write_file(dir / "bin" / "gnuplot", "#!/bin/sh\nexit 1\n");
  fs::permissions(dir / "bin" / "gnuplot", fs::perms::owner_all);
  const auto failed = run_cli(train_args(dir / "text.txt", dir / "failed", kTiny), dir, "failed",
                              {"PATH=" + (dir / "bin").string() + ":/usr/bin:/bin"});
  expect_success(failed);
  CHECK_THAT(failed.err, Catch::Matchers::Contains("note: gnuplot failed, no loss.png"));
  CHECK(sorted(listed_files(failed.err)) == present_files(dir / "failed"));
  CHECK(!fs::exists(dir / "failed" / "loss.png"));
}

// ---- --force keeps all of the old run --------------------------------------------------------

TEST_CASE("run dir: --force parks the old run whole, cyc_N.pt included, until the new one's first checkpoint",
          "[cli][rundir]") {
  const auto dir = fresh_dir("rundir-force-cycles");
  write_file(dir / "text.txt", synthetic_text(30000, 5));
  const auto run = dir / "run";
  expect_success(run_cli(train_args(dir / "text.txt", run,
                                    {"--model", "char-seq-stateful-rnn", "--n-hidden", "16", "--fit", "2@1e-2:cos1"}),
                         dir, "old"));
  REQUIRE(fs::exists(run / "cyc_0.pt"));
  const auto before = snapshot(run);
  CliProcess p(train_args(dir / "text.txt", run, with(kTiny, {"--force", "--checkpoint-every", "0"})), dir,
               "new", hold_at("step:3"));
  wait_for_hold(p, "step:3");
  p.send(SIGKILL);
  REQUIRE(p.wait().term_signal == SIGKILL);
  CHECK(fs::exists(run / ".replaced-run" / "cyc_0.pt"));
  // The old run is the one a reader sees, and the next writer puts it back whole.
  expect_success(run_cli({"sample", "--checkpoint", run.string(), "--prompt", "the water", "-n", "10"}, dir, "sample"));
  const auto resumed = run_cli({"train", "--no-progress", "--resume", run.string()}, dir, "resume");
  expect_success(resumed);
  CHECK_THAT(resumed.err, Catch::Matchers::Contains("holds a finished run"));
  CHECK(snapshot(run) == before);
}

TEST_CASE("run dir: a checkpoint that cannot be written leaves no model.pt.next and the old run whole",
          "[cli][rundir]") {
  REQUIRE(std::system("command -v prlimit >/dev/null 2>&1") == 0);
  const auto dir = fresh_dir("rundir-full-disk");
  write_file(dir / "text.txt", synthetic_text(3000));
  const auto run = dir / "run";
  const std::vector<std::string> big{"--model", "char-rnn", "--n-hidden", "200", "--bs", "64", "--fit", "1@1e-3",
                                     "--checkpoint-every", "2"};
  expect_success(run_cli(train_args(dir / "text.txt", run, big), dir, "old"));
  const auto before = snapshot(run);
  const auto model_bytes = fs::file_size(run / "model.pt"), state_bytes = fs::file_size(run / "train_state.pt");
  REQUIRE(state_bytes > model_bytes + 4096);
  // Files may grow to model.pt's size and a little more: the new weights are written, their
  // train_state.pt (Adam's moments too) is not. SIGXFSZ ignored, so write(2) fails with EFBIG.
  const auto limit = std::to_string(model_bytes + 2048);
  std::string command = fmt::format("trap '' XFSZ; exec prlimit --fsize={}:{} '{}'", limit, limit, CHARNN_CLI_PATH);
  for (const auto& a : train_args(dir / "text.txt", run, with(big, {"--force"}))) command += " '" + a + "'";
  command += fmt::format(" >'{}' 2>'{}'", (dir / "full.stdout").string(), (dir / "full.stderr").string());
  const int status = std::system(("sh -c \"" + command + "\"").c_str());
  INFO(read_file(dir / "full.stderr"));
  CHECK(WEXITSTATUS(status) == 1);
  CHECK_THAT(read_file(dir / "full.stderr"), Catch::Matchers::Contains("File too large"));
  CHECK(!fs::exists(run / "model.pt.next"));
  CHECK(!fs::exists(run / ".replaced-run"));
  CHECK(snapshot(run) == before);
  // A fresh start that fails the same way leaves no directory behind.
  std::string fresh = fmt::format("trap '' XFSZ; exec prlimit --fsize={}:{} '{}'", limit, limit, CHARNN_CLI_PATH);
  for (const auto& a : train_args(dir / "text.txt", dir / "new", big)) fresh += " '" + a + "'";
  fresh += " >/dev/null 2>/dev/null";
  CHECK(WEXITSTATUS(std::system(("sh -c \"" + fresh + "\"").c_str())) == 1);
  CHECK(!fs::exists(dir / "new"));
}

// ---- the rate each batch used ---------------------------------------------------------------

TEST_CASE("run dir: batches.csv and epochs.csv hold the rate each batch trained at, and loss.png draws it",
          "[cli][rundir]") {
  const auto dir = fresh_dir("rundir-lr-column");
  write_file(dir / "text.txt", synthetic_text(3000));
  const auto run = dir / "run";
  expect_success(run_cli(train_args(dir / "text.txt", run,
                                    with(kTiny, {"--fit", "2@1e-2:cos2", "--metrics-every", "1"})),
                         dir, "train"));
  std::ifstream in(run / "config.json");
  const auto nb = nlohmann::json::parse(in).at("trn_dl").at("batches").get<int64_t>();
  // The first call (1@1e-2) trains at 1e-2 throughout; the second follows CosAnneal(1e-2, nb, 2).
  const auto lrs = csv_column(run / "batches.csv", 1);
  REQUIRE(lrs.size() == static_cast<size_t>(3 * nb));
  CosAnneal schedule(1e-2, nb, 2);
  for (int64_t k = 0; k < 3 * nb; ++k) {
    INFO("step " << k + 1);
    CHECK(lrs[static_cast<size_t>(k)] == (k < nb ? 1e-2 : schedule.calc_lr().lr));
  }
  const auto epoch_lrs = csv_column(run / "epochs.csv", 1);
  REQUIRE(epoch_lrs.size() == 3);
  CHECK(epoch_lrs[1] == lrs[static_cast<size_t>(2 * nb - 1)]);
  CHECK(epoch_lrs[2] == lrs.back());
  CHECK(png_size(run / "loss.png") == std::pair<uint32_t, uint32_t>{900, 760});  // the loss and lr panels
}

// ---- one size estimate, wherever the sizes come from ----------------------------------------

TEST_CASE("run dir: a hand-edited config.json is held to the same size bound as the flags", "[cli][rundir]") {
  const auto dir = fresh_dir("rundir-config-size");
  const auto run = tiny_run(dir, synthetic_text(3000));
  for (const int64_t n_hidden : {int64_t{100000000}, int64_t{1000000000}}) {
    edit_config(run, [&](nlohmann::json& j) { j["n_hidden"] = n_hidden; });
    const auto message = fmt::format("{} (vocab_size ", (run / "config.json").string());
    const auto sampled = run_cli({"sample", "--checkpoint", run.string(), "--prompt", "the water"}, dir, "sample");
    expect_error(sampled, message);
    CHECK_THAT(sampled.err, Catch::Matchers::Contains(fmt::format("n_hidden {}", n_hidden)));
    CHECK_THAT(sampled.err, Catch::Matchers::Contains("more than half of this machine's"));
    expect_error(run_cli({"train", "--no-progress", "--resume", run.string()}, dir, "resume"), message);
  }
}

// ---- exit codes and messages ----------------------------------------------------------------

TEST_CASE("run dir: a signal in the last validation still exits 128+signal, saying the run is complete",
          "[cli][rundir]") {
  const auto dir = fresh_dir("rundir-late-signal");
  const auto reference = tiny_run(dir, synthetic_text(3000));
  // tiny_run's one epoch: one validation pass, after the last batch.
  CliProcess p(train_args(dir / "tiny.txt", dir / "run", kTiny), dir, "late", hold_at("validate:1"));
  wait_for_hold(p, "validate:1");
  p.send(SIGINT);
  const auto r = p.wait();
  INFO(r.err);
  CHECK(r.exit_code == 128 + SIGINT);
  CHECK_THAT(r.err, Catch::Matchers::Contains("charnn: signal 2 arrived after the last batch; the run is complete in"));
  CHECK(read_resume_point(dir / "run").fit == 1);
  CHECK(read_file(dir / "run" / "model.pt") == read_file(reference / "model.pt"));
}

TEST_CASE("run dir: a signal at the last batch boundary stops before the validation and resumes exactly",
          "[cli][rundir]") {
  const auto dir = fresh_dir("rundir-last-boundary");
  const auto reference = tiny_run(dir, synthetic_text(3000));
  const auto last = read_resume_point(reference).step;
  const auto hold = fmt::format("step:{}", last);
  CliProcess p(train_args(dir / "tiny.txt", dir / "run", kTiny), dir, "last", hold_at(hold));
  wait_for_hold(p, hold);
  p.send(SIGINT);
  const auto r = p.wait();
  INFO(r.err);
  CHECK(r.exit_code == 128 + SIGINT);
  CHECK_THAT(r.err, Catch::Matchers::Contains(fmt::format("in fit call 1, epoch 0, batch {}; checkpoint saved", last)));
  expect_success(run_cli({"train", "--no-progress", "--resume", (dir / "run").string()}, dir, "resume"));
  for (const char* name : {"model.pt", "train_state.pt", "epochs.csv"}) {
    INFO(name);
    CHECK(read_file(dir / "run" / name) == read_file(reference / name));
  }
}

TEST_CASE("run dir: --resume on a finished run changes nothing and says so", "[cli][rundir]") {
  const auto dir = fresh_dir("rundir-resume-finished");
  const auto run = tiny_run(dir, synthetic_text(3000));
  const auto before = snapshot(run);
  const auto mtime = fs::last_write_time(run / "loss.png");
  const auto r = run_cli({"train", "--no-progress", "--resume", run.string()}, dir, "resume");
  expect_success(r);
  CHECK(r.err == fmt::format("charnn: {} holds a finished run (every fit call of its schedule is done); nothing to "
                             "resume\n",
                             run.string()));
  CHECK(snapshot(run) == before);
  CHECK(fs::last_write_time(run / "loss.png") == mtime);
}

TEST_CASE("run dir: flag values are refused in our words", "[cli][rundir]") {
  const auto dir = fresh_dir("rundir-flags");
  write_file(dir / "text.txt", synthetic_text(3000));
  const auto train = [&](std::vector<std::string> extra) {
    return run_cli(train_args(dir / "text.txt", dir / "run", std::move(extra)), dir, "flag");
  };
  expect_error(train({"--wd", "-1"}), "--wd: must be a finite number >= 0, got '-1'", 2);
  expect_error(train({"--wd", "nan"}), "--wd: must be a finite number >= 0, got 'nan'", 2);
  for (const char* flag : {"--bs", "--window", "--seed", "--max-chars", "--shards", "--trn-lines", "--n-hidden",
                           "--n-fac", "--metrics-every", "--checkpoint-every"}) {
    INFO(flag);
    expect_error(train({flag, ""}), fmt::format("{}: must not be empty", flag), 2);
  }
  expect_error(train({"--fit", "3@1e-2:cos2000000"}),
               "--fit 3@1e-2:cos2000000: the cycle multiplier must be from 1 to 1000000, got 2000000");
  expect_error(train({"--trn-lines", "100"}),
               "--trn-lines 100: char-rnn trains on windows of the whole text; only the stateful models split");
  CHECK(!fs::exists(dir / "run"));
  // config.json is held to the same schedule rules as --fit.
  const auto run = tiny_run(dir, synthetic_text(3000));
  edit_config(run, [](nlohmann::json& j) {
    j["schedule"][0]["kind"] = "cos_anneal";
    j["schedule"][0]["cycle_mult"] = 2000000;
  });
  expect_error(run_cli({"train", "--no-progress", "--resume", run.string()}, dir, "resume"),
               (run / "config.json").string() + ": 'cycle_mult' must be from 1 to 1000000, got 2000000");
}

TEST_CASE("run dir: a directory of the user's, or one that cannot be made, is refused before anything is written",
          "[cli][rundir]") {
  const auto dir = fresh_dir("rundir-foreign");
  write_file(dir / "text.txt", synthetic_text(3000));
  fs::create_directories(dir / "mine");
  write_file(dir / "mine" / "notes.txt", "mine");
  expect_error(run_cli(train_args(dir / "text.txt", dir / "mine", kTiny), dir, "train"),
               fmt::format("--out {}: holds 'notes.txt' and no charnn run; give a new or empty directory",
                           (dir / "mine").string()));
  expect_error(run_cli(lesson_args(dir / "text.txt", dir / "mine", "char-rnn"), dir, "lesson"),
               fmt::format("--out {}: holds 'notes.txt', which is not part of a lesson", (dir / "mine").string()));
  CHECK(present_files(dir / "mine") == std::vector<std::string>{"notes.txt"});
  // Under a file: the directory cannot be made.
  const auto blocked = dir / "text.txt" / "lesson";
  expect_error(run_cli(lesson_args(dir / "text.txt", blocked, "char-rnn"), dir, "blocked"),
               fmt::format("--out {}: cannot create directory (Not a directory)", blocked.string()));
}
