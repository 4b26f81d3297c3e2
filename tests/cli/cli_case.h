#pragma once
// What the bad-input and resume tests share: the one-error-line check and small runs.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "cli_process.h"
#include "train/io/checkpoint.h"

namespace charnn::test {

// A bad input ends one way: the given exit status, nothing on stdout, and exactly one line
// on stderr, "charnn: error: ..." containing `expected`.
inline void expect_error(const CliResult& r, const std::string& expected, int exit_code = 1) {
  INFO("stderr: " << r.err);
  INFO("stdout: " << r.out);
  CHECK(r.term_signal == 0);
  CHECK(r.exit_code == exit_code);
  CHECK(r.out.empty());
  const auto lines = r.err_lines();
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].rfind("charnn: error: ", 0) == 0);
  CHECK_THAT(lines[0], Catch::Matchers::Contains(expected));
}

inline void expect_success(const CliResult& r) {
  INFO("stderr: " << r.err);
  INFO("stdout: " << r.out);
  REQUIRE(r.term_signal == 0);
  REQUIRE(r.exit_code == 0);
}

// CHARNN_TEST_HOLD (common/test_hold.h): the run stops at the point and waits for a signal, so a
// test interrupts it where it says, however fast or busy the machine.
// The largest difference between two runs' model.pt weights, over every tensor.
inline double worst_weight_difference(const std::filesystem::path& run_a, const std::filesystem::path& run_b) {
  const auto x = read_tensor_dict(run_a / "model.pt"), y = read_tensor_dict(run_b / "model.pt");
  REQUIRE(x.size() == y.size());
  double worst = 0;
  for (const auto& [key, tensor] : x) worst = std::max(worst, (tensor - y.at(key)).abs().max().item<double>());
  return worst;
}

inline std::vector<std::string> hold_at(const std::string& point) { return {"CHARNN_TEST_HOLD=" + point}; }

// Waits until the process holds at `point` ("step:40", "save:2", "start"); fails the test,
// with what the process printed, when it ended first.
inline void wait_for_hold(CliProcess& p, const std::string& point) {
  if (p.wait_for_stderr("charnn: holding at " + point + " ")) return;
  const auto r = p.wait();
  FAIL("charnn ended before holding at " << point << "; exit " << r.exit_code << ", stderr: " << r.err);
}

// Arguments for a short, quiet training run on `text` into `out`.
inline std::vector<std::string> train_args(const std::filesystem::path& text, const std::filesystem::path& out,
                                           std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"train", "--no-progress", "--text", text.string(), "--out", out.string()};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// char-rnn on 20000 characters, batches of 64: 250 training batches per epoch, two fit calls of
// one epoch each; a few seconds in all. The resume and device tests interrupt and move it.
inline const std::vector<std::string> kTwoFitRun{"--model", "char-rnn", "--n-hidden", "64",          "--bs",
                                                 "64",      "--seed",   "7",          "--max-chars", "20000",
                                                 "--fit",   "1@3e-3",   "--fit",      "1@1e-3"};

inline std::filesystem::path two_fit_corpus(const std::filesystem::path& dir) {
  const auto path = dir / "text.txt";
  if (!std::filesystem::exists(path)) write_file(path, synthetic_text(24000, 3));
  return path;
}

inline std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

// A small trained run (a few hundred milliseconds of training) to sample from.
inline std::filesystem::path tiny_run(const std::filesystem::path& dir, const std::string& text,
                                      const std::string& model = "char-rnn", const std::string& n_hidden = "16") {
  const auto corpus = dir / "tiny.txt";
  const auto out = dir / "tiny-run";
  write_file(corpus, text);
  expect_success(run_cli(train_args(corpus, out,
                                    {"--model", model, "--n-hidden", n_hidden, "--n-fac", "8", "--bs", "64",
                                     "--fit", "1@1e-2"}),
                         dir, "tiny-train"));
  return out;
}

}  // namespace charnn::test
