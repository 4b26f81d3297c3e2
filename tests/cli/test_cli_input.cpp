// Bad input through the real CLI: each case ends with one "charnn: error:" line on stderr,
// a non-zero exit status and nothing half-written.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <map>
#include <thread>
#include <tuple>

#include "cli_case.h"
#include "data/corpus.h"
#include "train/io/checkpoint.h"
#include "train/io/config_file.h"

using namespace charnn;
using namespace charnn::test;
namespace fs = std::filesystem;

namespace {

// All regular files under dir with their bytes, to prove a failed command changed nothing.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) files[fs::relative(e.path(), dir).string()] = read_file(e.path());
  }
  return files;
}

CliResult train_on_bytes(const fs::path& dir, const std::string& bytes, std::vector<std::string> extra = {}) {
  write_file(dir / "text.txt", bytes);
  return run_cli(train_args(dir / "text.txt", dir / "run", std::move(extra)), dir);
}

// The offset of the first data byte of the zip's first record (a torch.save file stores its
// records uncompressed): flipping it changes content that only the CRC-32 covers.
// The offset of a stored record's first data byte. The writer sets the data-descriptor flag,
// so local headers carry no sizes: the record is found by its name, whose first occurrence is
// in its local header (the central directory comes last).
size_t record_data(const std::string& zip, const std::string& name) {
  const auto u16 = [&](size_t at) { return static_cast<size_t>(static_cast<unsigned char>(zip[at])) |
                                           static_cast<size_t>(static_cast<unsigned char>(zip[at + 1])) << 8; };
  const auto at = zip.find(name);
  REQUIRE(at != std::string::npos);
  REQUIRE(at >= 30);
  const auto header = at - 30;
  REQUIRE(zip.compare(header, 4, "PK\x03\x04") == 0);
  return header + 30 + u16(header + 26) + u16(header + 28);
}

CliResult sample(const fs::path& run, const std::string& prompt, std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"sample", "--checkpoint", run.string(), "--prompt", prompt, "-n", "20"};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_cli(args, run.parent_path(), "sample");
}

}  // namespace

// ---- corpus ------------------------------------------------------------------------------

TEST_CASE("corpus: a missing file is named and no run directory is made", "[cli][corpus]") {
  const auto dir = fresh_dir("corpus-missing");
  const auto r = run_cli(train_args(dir / "nope.txt", dir / "run"), dir);
  expect_error(r, (dir / "nope.txt").string() + ": no such file");
  CHECK_FALSE(fs::exists(dir / "run"));
}

TEST_CASE("corpus: a directory", "[cli][corpus]") {
  const auto dir = fresh_dir("corpus-directory");
  fs::create_directories(dir / "texts");
  expect_error(run_cli(train_args(dir / "texts", dir / "run"), dir),
               (dir / "texts").string() + ": is a directory, expected a UTF-8 text file");
  CHECK_FALSE(fs::exists(dir / "run"));
}

TEST_CASE("corpus: an empty file", "[cli][corpus]") {
  const auto dir = fresh_dir("corpus-empty");
  expect_error(train_on_bytes(dir, ""), "text.txt: the text is empty");
  CHECK_FALSE(fs::exists(dir / "run"));
}

TEST_CASE("corpus: not UTF-8, with the byte offset and the reason", "[cli][corpus]") {
  const auto dir = fresh_dir("corpus-not-utf8");
  using Case = std::pair<std::string, std::string>;
  const auto [bytes, expected] = GENERATE(
      Case{"caf\xe9 au lait, tr\xe8s bien\n", "text.txt: invalid UTF-8 at byte 3 (missing continuation byte)"},
      Case{"abc\x80", "text.txt: invalid UTF-8 at byte 3 (not a lead byte)"},
      Case{"abcdef \xe2\x82", "text.txt: invalid UTF-8 at byte 7 (truncated sequence)"},
      Case{"ab \xe0\x80\xaf", "text.txt: invalid UTF-8 at byte 3 (overlong encoding)"},
      Case{"ab \xed\xa0\x80 cd", "text.txt: invalid UTF-8 at byte 3 (surrogate code point)"},
      Case{std::string("UTF-16\xff\xfe") + std::string("h\0i\0", 4), "text.txt: invalid UTF-8 at byte 6 (not a lead byte)"});
  expect_error(train_on_bytes(dir, bytes), expected);
  CHECK_FALSE(fs::exists(dir / "run"));
}

TEST_CASE("corpus: shorter than one window, for each layout", "[cli][corpus]") {
  const auto dir = fresh_dir("corpus-short");
  SECTION("char-rnn reads windows of 8 and needs 10 characters for one") {
    expect_error(train_on_bytes(dir, "abcdefghi", {"--model", "char-rnn"}),
                 "text.txt: text of 9 characters is too short for one");
  }
  SECTION("char3-model reads windows of 3") {
    expect_error(train_on_bytes(dir, "ab", {"--model", "char3-model"}),
                 "text.txt: text of 2 characters is too short for one");
  }
  SECTION("char-seq-rnn with a window longer than the text") {
    expect_error(train_on_bytes(dir, "abcdefghijklmnop", {"--model", "char-seq-rnn", "--window", "40"}),
                 "text.txt: text of 16 characters is too short for one");
  }
  CHECK_FALSE(fs::exists(dir / "run"));
}

TEST_CASE("corpus: a few windows that split into no training or no validation rows", "[cli][corpus]") {
  // Just past one window, the lesson's split leaves one side empty: a loss of 0 over no rows
  // would look like a result.
  const auto dir = fresh_dir("corpus-few-windows");
  using Case = std::tuple<std::string, size_t, std::string>;
  const auto [model, length, expected] = GENERATE(
      Case{"char-rnn", 10, "text.txt: text of 10 characters gives 1 window(s) of 8 for char-rnn, 1 to train on and 0 "
                           "to validate on; it needs at least one of each"},
      Case{"char3-model", 11, "text.txt: text of 11 characters gives 1 window(s) of 3 for char3-model, 0 to train on "
                              "and 1 to validate on"},
      Case{"char-seq-rnn", 100, "text.txt: text of 100 characters gives 12 window(s) of 8 for char-seq-rnn, 12 to "
                                "train on and 0 to validate on"});
  expect_error(train_on_bytes(dir, synthetic_text(length), {"--model", model}), expected);
  CHECK_FALSE(fs::exists(dir / "run"));
}

TEST_CASE("corpus: the shortest texts that split both ways train", "[cli][corpus]") {
  const auto dir = fresh_dir("corpus-shortest");
  const auto [model, length] = GENERATE(std::make_tuple("char-rnn", 20), std::make_tuple("char3-model", 20));
  expect_success(train_on_bytes(dir, synthetic_text(length), {"--model", model, "--n-hidden", "8"}));
  const auto rows = csv_rows(dir / "run" / "epochs.csv");
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].find(",0.000000,") == std::string::npos);  // neither loss is an empty mean
}

TEST_CASE("corpus: one huge line is just text", "[cli][corpus]") {
  // 4 MB without a newline: nothing reads the corpus line by line.
  const auto dir = fresh_dir("corpus-huge-line");
  std::string line = synthetic_text(4u << 20);
  std::replace(line.begin(), line.end(), '\n', ' ');
  const auto r = train_on_bytes(dir, line, {"--model", "char3-model", "--max-chars", "3000", "--fit", "1@1e-2"});
  expect_success(r);
  const auto config = read_run_config(dir / "run");
  CHECK(config.max_chars == 3000);
  CHECK(std::find(config.vocab.begin(), config.vocab.end(), "\n") == config.vocab.end());
  CHECK(csv_rows(dir / "run" / "epochs.csv").size() == 1);
}

TEST_CASE("corpus: characters outside the BMP train and sample", "[cli][corpus]") {
  const auto dir = fresh_dir("corpus-astral");
  // Emoji, mathematical letters, CJK and a Gothic letter: 4-byte UTF-8, code points > U+FFFF.
  std::string text;
  const char* pieces[] = {"smile \xF0\x9F\x98\x80 ", "math \xF0\x9D\x94\x98\xF0\x9D\x94\xAB ", "kanji \xE6\xBC\xA2 ",
                          "gothic \xF0\x90\x8C\xB0 ", "plain words and more words "};
  for (int i = 0; text.size() < 6000; ++i) text += pieces[(i * 7 + i / 3) % 5];
  const auto run = tiny_run(dir, text);
  const auto config = read_run_config(run);
  for (char32_t c : {U'\U0001F600', U'\U0001D518', U'\U0001D52B', U'\U00010330', U'\u6F22'}) {
    CHECK(std::find(config.vocab.begin(), config.vocab.end(), encode_utf8(c)) != config.vocab.end());
  }
  const std::string prompt = "smile \xF0\x9F\x98\x80 math ";  // 13 characters, 16 bytes
  const auto r = sample(run, prompt);
  expect_success(r);
  REQUIRE(r.out.rfind(prompt, 0) == 0);
  const auto generated = decode_utf8(r.out, "stdout");
  CHECK(generated.size() == 13 + 20 + 1);  // prompt, -n 20, newline
}

TEST_CASE("corpus: a failed start leaves an existing run as it was", "[cli][corpus]") {
  const auto dir = fresh_dir("corpus-existing-run");
  const auto run = tiny_run(dir, synthetic_text(3000));
  const auto before = snapshot(run);
  REQUIRE(before.count("model.pt") == 1);
  write_file(dir / "bad.txt", "bad \xff byte");
  expect_error(run_cli(train_args(dir / "bad.txt", run, {"--force"}), dir, "retrain"),
               "bad.txt: invalid UTF-8 at byte 4");
  expect_error(run_cli(train_args(dir / "tiny.txt", run, {"--fit", "0@1e-3"}), dir, "retrain2"),
               "--fit 0@1e-3: epochs must be >= 1");
  CHECK(snapshot(run) == before);
}

// ---- sampling ------------------------------------------------------------------------------

TEST_CASE("sample: every distinct character missing from the vocabulary is named", "[cli][sample]") {
  const auto dir = fresh_dir("sample-missing-chars");
  const auto run = tiny_run(dir, synthetic_text(3000));  // lower case, capitals, ".,; \n" only
  const auto r = sample(run, "the Zebra and \xF0\x9F\x98\x80 the ZOO at 5\t!");
  expect_error(r,
               "prompt: 5 characters are not in the checkpoint's vocabulary: 'Z' (U+005A), "
               "'\xF0\x9F\x98\x80' (U+1F600), '5' (U+0035), '\\t' (U+0009), '!' (U+0021)");
  expect_error(sample(run, "the water of the 7 people"),
               "prompt: 1 character is not in the checkpoint's vocabulary: '7' (U+0037)");
}

TEST_CASE("sample: an empty prompt", "[cli][sample]") {
  const auto dir = fresh_dir("sample-empty-prompt");
  const auto run = tiny_run(dir, synthetic_text(3000));
  expect_error(sample(run, ""), "prompt: empty; give at least one window of characters");
}

TEST_CASE("sample: a prompt shorter than the window is an error the help documents", "[cli][sample]") {
  const auto dir = fresh_dir("sample-short-prompt");
  const auto run = tiny_run(dir, synthetic_text(3000));
  expect_error(sample(run, "the\nday"),
               "prompt: \"the\\nday\" has 7 character(s) but char-rnn reads windows of 8; give at least 8 characters");
  const auto help = run_cli({"sample", "--help"}, dir, "help");
  CHECK(help.exit_code == 0);
  CHECK_THAT(help.out, Catch::Matchers::Contains("at least one window long"));
  CHECK_THAT(help.out, Catch::Matchers::Contains("3 characters for char3-model, 8 for the others"));
}

TEST_CASE("sample: a prompt that is not UTF-8", "[cli][sample]") {
  const auto dir = fresh_dir("sample-bad-utf8");
  const auto run = tiny_run(dir, synthetic_text(3000));
  expect_error(sample(run, "the day of \xff the"), "prompt: invalid UTF-8 at byte 11 (not a lead byte)");
}

TEST_CASE("sample: bad -n and --temperature", "[cli][sample]") {
  const auto dir = fresh_dir("sample-bad-numbers");
  const auto run = tiny_run(dir, synthetic_text(3000));
  expect_error(run_cli({"sample", "--checkpoint", run.string(), "--prompt", "the water", "-n", "-3"}, dir, "n"),
               "-n: must be >= 0, got -3", 2);
  expect_error(sample(run, "the water", {"--temperature", "0"}), "temperature: must be > 0, got 0");
  expect_error(sample(run, "the water", {"--temperature", "-1"}), "temperature: must be > 0, got -1");
  // Past the integer range: CLI11 alone would read the largest int64 and generate forever.
  expect_error(sample(run, "the water", {"-n", "99999999999999999999"}),
               "-n: 99999999999999999999 is out of range (at most 9223372036854775807)", 2);
  expect_error(sample(run, "the water", {"--temperature", "1", "--seed", "-1"}), "--seed: must be >= 0, got -1", 2);
}

TEST_CASE("sample: the text streams, and SIGINT or SIGTERM ends a long run at once", "[cli][sample]") {
  const auto dir = fresh_dir("sample-stream");
  const auto run = tiny_run(dir, synthetic_text(3000));
  for (const int sig : {SIGINT, SIGTERM}) {
    CliProcess p({"sample", "--checkpoint", run.string(), "--prompt", "the water", "-n", "9000000000000"}, dir,
                 "long");
    // Output before the end: the characters are written as they come.
    const auto out = dir / "long.stdout";
    auto written = [&out] { return fs::exists(out) ? fs::file_size(out) : 0; };
    while (p.running() && written() < 4096) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    REQUIRE(written() >= 4096);
    p.send(sig);
    const auto r = p.wait();
    CHECK(r.term_signal == sig);
    CHECK(r.out.rfind("the water", 0) == 0);
  }
}

// ---- checkpoints ---------------------------------------------------------------------------

TEST_CASE("checkpoint: a run directory that does not exist", "[cli][checkpoint]") {
  const auto dir = fresh_dir("ckpt-no-dir");
  expect_error(sample(dir / "nowhere", "the water"), (dir / "nowhere").string() + ": not a run directory");
}

TEST_CASE("checkpoint: a directory without its config.json", "[cli][checkpoint]") {
  const auto dir = fresh_dir("ckpt-no-config");
  const auto run = tiny_run(dir, synthetic_text(3000));
  fs::remove(run / "config.json");
  expect_error(sample(run, "the water"),
               (run / "config.json").string() + ": missing; is " + run.string() + " a charnn run directory?");
  expect_error(run_cli({"train", "--resume", run.string()}, dir, "resume"),
               (run / "config.json").string() + ": missing");
}

TEST_CASE("checkpoint: a malformed config.json names the problem", "[cli][checkpoint]") {
  const auto dir = fresh_dir("ckpt-bad-config");
  const auto run = tiny_run(dir, synthetic_text(3000));
  const auto json = read_file(run / "config.json");
  // Truncated.
  write_file(run / "config.json", json.substr(0, json.size() / 2));
  expect_error(sample(run, "the water"), "config.json: malformed ([json.exception.parse_error.101]");
  // Fields of the wrong type or out of range: JSON's numbers are doubles, and a cast of 3e120
  // to an integer would be undefined behaviour rather than an error.
  const std::vector<std::tuple<std::string, std::string, std::string>> edits = {
      {"\"n_hidden\": 16", "\"n_hidden\": \"16\"", "'n_hidden' must be an integer >= 1, got \"16\""},
      {"\"n_hidden\": 16", "\"n_hidden\": 16.5", "'n_hidden' must be an integer >= 1, got 16.5"},
      {"\"n_hidden\": 16", "\"n_hidden\": 0", "'n_hidden' must be an integer >= 1, got 0"},
      {"\"seed\": 0", "\"seed\": -1", "'seed' must be an integer >= 0, got -1"},
      {"\"lr\": 0.01", "\"lr\": -0.01", "'lr' must be a finite number > 0, got -0.01"},
      {"\"format\": \"charnn-run/2\"", "\"format\": \"charnn-run/9\"",
       "'format' is \"charnn-run/9\"; this charnn reads \"charnn-run/2\" and \"charnn-run/1\""},
      {"\"optimizer\": \"adam\"", "\"optimizer\": \"adamw\"", "unknown optimizer 'adamw' (known: adam)"},
      {"\"model\": \"char-rnn\"", "\"model\": \"char-gru\"", "unknown model 'char-gru'"},
      {"\"shards\": ", "\"shards\": 4294967296, \"x\": ",
       "'shards' must be an integer from 1 to 2147483647, got 4294967296"},
  };
  for (const auto& [field, replacement, message] : edits) {
    CAPTURE(replacement);
    auto edited = json;
    REQUIRE(edited.find(field) != std::string::npos);
    edited.replace(edited.find(field), field.size(), replacement);
    write_file(run / "config.json", edited);
    expect_error(sample(run, "the water"), (run / "config.json").string() + ": " + message);
  }
  {
    // A windowed model's vocabulary is one character per entry, "\0" first.
    auto edited = json;
    const std::string field = "\"itos\": [\n    \"\\u0000\"";
    REQUIRE(edited.find(field) != std::string::npos);
    edited.replace(edited.find(field), field.size(), "\"itos\": [\n    \"ab\"");
    write_file(run / "config.json", edited);
    expect_error(sample(run, "the water"),
                 (run / "config.json").string() + " 'itos': entry 0 is 2 characters long; each entry of a windowed");
  }
  auto edited = json;
  edited.replace(edited.find("\"char-rnn\""), 10, "\"char3-model\"");
  edited.replace(edited.find("\"identity_init\": false"), 22, "\"identity_init\": true");
  write_file(run / "config.json", edited);
  expect_error(sample(run, "the water"), (run / "config.json").string() +
                                             ": 'identity_init' is true, but char3-model has no identity init");
}

TEST_CASE("checkpoint: model.pt missing", "[cli][checkpoint]") {
  const auto dir = fresh_dir("ckpt-no-model");
  const auto run = tiny_run(dir, synthetic_text(3000));
  fs::remove(run / "model.pt");
  expect_error(sample(run, "the water"), (run / "model.pt").string() + ": no such file");
}

TEST_CASE("checkpoint: model.pt truncated", "[cli][checkpoint]") {
  const auto dir = fresh_dir("ckpt-truncated");
  const auto run = tiny_run(dir, synthetic_text(3000));
  const auto bytes = read_file(run / "model.pt");
  for (const double keep : {0.0, 0.1, 0.5, 0.9, 0.999}) {
    const auto size = static_cast<size_t>(keep * static_cast<double>(bytes.size()));
    INFO("kept " << size << " of " << bytes.size() << " bytes");
    write_file(run / "model.pt", bytes.substr(0, size));
    expect_error(sample(run, "the water"), (run / "model.pt").string() + ": ");
  }
}

TEST_CASE("checkpoint: corrupt bytes in model.pt", "[cli][checkpoint]") {
  const auto dir = fresh_dir("ckpt-corrupt");
  const auto run = tiny_run(dir, synthetic_text(3000));
  const auto original = read_file(run / "model.pt");
  // 64 bytes overwritten at several places: the zip header, the pickle, tensor data, the directory.
  for (const double at : {0.0, 0.05, 0.3, 0.6, 0.97}) {
    auto bytes = original;
    const auto offset = static_cast<size_t>(at * static_cast<double>(bytes.size()));
    for (size_t i = offset; i < std::min(bytes.size(), offset + 64); ++i) bytes[i] = static_cast<char>(0xA5 ^ i);
    write_file(run / "model.pt", bytes);
    INFO("corrupted at byte " << offset << " of " << bytes.size());
    // Whatever was hit, the file is refused with its name; inside a record the CRC-32 says so.
    expect_error(sample(run, "the water"), (run / "model.pt").string() + ": ");
  }
  // A single flipped bit in the first tensor's data, which LibTorch's reader alone accepts.
  auto flipped = original;
  flipped[record_data(original, "archive/data/0")] ^= 0x01;
  write_file(run / "model.pt", flipped);
  expect_error(sample(run, "the water"),
               (run / "model.pt").string() + ": record 'archive/data/0' fails its CRC-32 check; the file is corrupt");
}

TEST_CASE("checkpoint: model.pt of another vocabulary size names the key and both shapes", "[cli][checkpoint]") {
  const auto dir = fresh_dir("ckpt-other-vocab");
  const auto run = tiny_run(dir, synthetic_text(3000));
  const auto other = tiny_run(fresh_dir("ckpt-other-vocab-donor"), "other text, OTHER VOCABULARY: 0123456789\n");
  fs::copy_file(other / "model.pt", run / "model.pt", fs::copy_options::overwrite_existing);
  const auto ours = read_run_config(run).model.vocab_size;
  const auto theirs = read_run_config(other).model.vocab_size;
  REQUIRE(ours != theirs);
  expect_error(sample(run, "the water"),
               fmt::format("{}: key 'e.weight' has shape [{}, 8] in the file but [{}, 8] in the model",
                           (run / "model.pt").string(), theirs, ours));
}

TEST_CASE("checkpoint: model.pt of another model names the key", "[cli][checkpoint]") {
  const auto dir = fresh_dir("ckpt-other-model");
  const auto run = tiny_run(dir, synthetic_text(3000));
  const auto other = tiny_run(fresh_dir("ckpt-other-model-donor"), synthetic_text(3000), "char3-model");
  fs::copy_file(other / "model.pt", run / "model.pt", fs::copy_options::overwrite_existing);
  expect_error(sample(run, "the water"), (run / "model.pt").string() + ": key '");
}

TEST_CASE("resume: train_state.pt missing, truncated, corrupt or from another run", "[cli][checkpoint]") {
  const auto dir = fresh_dir("resume-bad-state");
  const auto run = tiny_run(dir, synthetic_text(3000));
  const auto state = run / "train_state.pt";
  const auto bytes = read_file(state);
  const auto resume = [&] { return run_cli({"train", "--no-progress", "--resume", run.string()}, dir, "resume"); };
  // Missing.
  fs::remove(state);
  expect_error(resume(), state.string() + ": missing; nothing to resume");
  // Truncated.
  write_file(state, bytes.substr(0, bytes.size() / 2));
  expect_error(resume(), state.string() + ": not a readable torch.save file (");
  // Corrupt all over: every 97th byte inverted (the zip structure or the pickle may be hit first).
  auto corrupt = bytes;
  for (size_t i = 0; i < corrupt.size(); i += 97) corrupt[i] = static_cast<char>(~corrupt[i]);
  write_file(state, corrupt);
  expect_error(resume(), state.string() + ": ");
  CHECK_THAT(resume().err, Catch::Matchers::Contains("corrupt"));
  // One flipped bit inside a record, which LibTorch's reader alone would accept.
  corrupt = bytes;
  corrupt[record_data(bytes, "archive/data/0")] ^= 0x01;
  write_file(state, corrupt);
  expect_error(resume(), state.string() + ": record 'archive/");
  CHECK_THAT(resume().err, Catch::Matchers::EndsWith("fails its CRC-32 check; the file is corrupt\n"));
  // The same bit, with the classic end record's directory offset damaged too: LibTorch finds
  // the directory through the zip64 end record, so the check must as well (a fuzzer found
  // a damaged TorchScript source that got through and ended in std::terminate).
  const auto end_record = corrupt.rfind("PK\x05\x06");
  REQUIRE(end_record != std::string::npos);
  REQUIRE(corrupt.rfind("PK\x06\x07") == end_record - 20);  // the zip64 locator
  corrupt[end_record + 17] ^= 0x55;
  write_file(state, corrupt);
  expect_error(resume(), state.string() + ": record 'archive/");
  CHECK_THAT(resume().err, Catch::Matchers::EndsWith("fails its CRC-32 check; the file is corrupt\n"));
  // The zip64 end record's entry count damaged: the directory it declares is not there.
  auto miscounted = bytes;
  const auto end64 = miscounted.rfind("PK\x06\x06");
  REQUIRE(end64 != std::string::npos);
  miscounted[end64 + 32] ^= 0x01;
  write_file(state, miscounted);
  expect_error(resume(), state.string() + ": ");
  CHECK_THAT(resume().err, Catch::Matchers::Contains("corrupt") || Catch::Matchers::Contains("not a readable"));
  // train_state.pt from another run, beside this run's model.pt: they do not belong together.
  const auto other = tiny_run(fresh_dir("resume-bad-state-donor"), synthetic_text(3000), "char-rnn", "24");
  fs::copy_file(other / "train_state.pt", state, fs::copy_options::overwrite_existing);
  expect_error(resume(), (run / "model.pt").string() + ": does not hold the weights " + state.string() + " names");
  // Both files of a run with another hidden size: the shapes are named.
  const auto model_bytes = read_file(run / "model.pt");
  fs::copy_file(other / "model.pt", run / "model.pt", fs::copy_options::overwrite_existing);
  expect_error(resume(), (run / "model.pt").string() +
                             ": key 'rnn.weight_ih_l0' has shape [24, 8] in the file but [16, 8] in the model");
  // Both files of a run on a longer text of the same vocabulary: its position does not fit this run.
  const auto longer = tiny_run(fresh_dir("resume-bad-state-donor2"), synthetic_text(3000) + synthetic_text(3000));
  fs::copy_file(longer / "train_state.pt", state, fs::copy_options::overwrite_existing);
  fs::copy_file(longer / "model.pt", run / "model.pt", fs::copy_options::overwrite_existing);
  expect_error(resume(), "not a checkpoint of this run");
  write_file(run / "model.pt", model_bytes);
  // Nothing was touched by the failed resumes.
  CHECK(csv_rows(run / "epochs.csv").size() == 1);
}

// ---- arguments -----------------------------------------------------------------------------

TEST_CASE("arguments: an unknown model lists the known ones", "[cli][args]") {
  const auto dir = fresh_dir("args-model");
  write_file(dir / "text.txt", synthetic_text(3000));
  expect_error(run_cli(train_args(dir / "text.txt", dir / "run", {"--model", "gpt-5"}), dir),
               "--model: unknown model 'gpt-5' (known: char3-model, char-loop-model, char-loop-concat-model, "
               "char-rnn, char-seq-rnn, char-seq-stateful-rnn, char-seq-stateful-rnn2, char-seq-stateful-gru, "
               "char-seq-stateful-lstm)");
  CHECK_FALSE(fs::exists(dir / "run"));
}

TEST_CASE("arguments: a stateful model's text, seed and shards that cannot work are named", "[cli][args]") {
  const auto dir = fresh_dir("args-stateful");
  const std::vector<std::string> model{"--model", "char-seq-stateful-gru", "--n-hidden", "16"};
  auto with = [&](std::vector<std::string> more) {
    more.insert(more.begin(), model.begin(), model.end());
    return more;
  };
  SECTION("one line: nothing to validate on") {
    write_file(dir / "one-line.txt", std::string(5000, 'a'));
    expect_error(run_cli(train_args(dir / "one-line.txt", dir / "run", with({})), dir),
                 (dir / "one-line.txt").string() + ": 1 line(s); the stateful models train on the first lines");
  }
  SECTION("lines, but too few characters for a batch of 64 columns") {
    write_file(dir / "short.txt", synthetic_text(3000));
    expect_error(run_cli(train_args(dir / "short.txt", dir / "run", with({})), dir),
                 "short.txt lines 37-46 (validation): 635 tokens make 9 row(s) of bs 64, too short for one batch: "
                 "bptt 8 needs at least 16 rows (1024 tokens)");
  }
  SECTION("--trn-lines that leaves nothing to validate on") {
    write_file(dir / "text.txt", synthetic_text(30000));
    expect_error(run_cli(train_args(dir / "text.txt", dir / "run", with({"--trn-lines", "100000"})), dir),
                 "but the training part takes the first 100000 and the validation part needs at least one more");
  }
  SECTION("a seed numpy cannot take") {
    write_file(dir / "text.txt", synthetic_text(30000));
    expect_error(run_cli(train_args(dir / "text.txt", dir / "run", with({"--seed", "4294967296"})), dir),
                 "--seed 4294967296: the stateful models seed numpy's stream, which takes seeds below 2^32");
  }
  SECTION("--shards above 1") {
    write_file(dir / "text.txt", synthetic_text(30000));
    expect_error(run_cli(train_args(dir / "text.txt", dir / "run", with({"--shards", "2"})), dir),
                 "--shards 2: the stateful models train with the plain step (--shards 1)");
  }
  SECTION("'prev' in the first fit call") {
    write_file(dir / "text.txt", synthetic_text(30000));
    expect_error(run_cli(train_args(dir / "text.txt", dir / "run", with({"--fit", "1@prev:cos2"})), dir),
                 "--fit: the first fit call has no previous rate to start from");
  }
  CHECK_FALSE(fs::exists(dir / "run"));
}

TEST_CASE("arguments: non-positive epochs, learning rate and batch size", "[cli][args]") {
  const auto dir = fresh_dir("args-non-positive");
  write_file(dir / "text.txt", synthetic_text(3000));
  using Case = std::tuple<std::vector<std::string>, std::string, int>;
  const auto [args, expected, code] = GENERATE(
      Case{{"--fit", "0@1e-3"}, "--fit 0@1e-3: epochs must be >= 1", 1},
      Case{{"--fit", "-2@1e-3"}, "--fit -2@1e-3: epochs must be >= 1", 1},
      Case{{"--fit", "1@0"}, "--fit 1@0: learning rate must be a finite number > 0", 1},
      Case{{"--fit", "1@-1e-3"}, "--fit 1@-1e-3: learning rate must be a finite number > 0", 1},
      Case{{"--fit", "1@nan"}, "--fit 1@nan: learning rate must be a finite number > 0", 1},
      Case{{"--fit", "1@inf"}, "--fit 1@inf: learning rate must be a finite number > 0", 1},
      Case{{"--bs", "0"}, "--bs: must be >= 1, got 0", 2},
      Case{{"--bs", "-64"}, "--bs: must be >= 1, got -64", 2},
      Case{{"--window", "0"}, "--window: must be >= 1, got 0", 2},
      Case{{"--n-hidden", "0"}, "--n-hidden: must be >= 1, got 0", 2},
      Case{{"--max-chars", "-1"}, "--max-chars: must be >= 0, got -1", 2},
      Case{{"--shards", "-2"}, "--shards: must be >= 0, got -2", 2},
      Case{{"--checkpoint-every", "-1"}, "--checkpoint-every: must be >= 0, got -1", 2});
  expect_error(run_cli(train_args(dir / "text.txt", dir / "run", args), dir), expected, code);
  CHECK_FALSE(fs::exists(dir / "run"));
}

TEST_CASE("arguments: a malformed --fit", "[cli][args]") {
  const auto dir = fresh_dir("args-fit");
  write_file(dir / "text.txt", synthetic_text(3000));
  const std::string spec = GENERATE("4", "4@", "@1e-3", "four@1e-3", "4@1e-3x", "4.5@1e-3", "4@@1e-3", "",
                                    "4@1e-3:", "4@1e-3:sin2", "4@1e-3:cosx", "4@1e-3:cos-1", "4@prevx:cos2");
  expect_error(run_cli(train_args(dir / "text.txt", dir / "run", {"--fit", spec}), dir),
               "--fit " + spec + ": expected EPOCHS@LR, e.g. 4@1e-3");
  CHECK_FALSE(fs::exists(dir / "run"));
}

TEST_CASE("arguments: an --out that cannot be written", "[cli][args]") {
  const auto dir = fresh_dir("args-out");
  write_file(dir / "text.txt", synthetic_text(3000));
  write_file(dir / "a-file", "not a directory");
  SECTION("below a regular file") {
    expect_error(run_cli(train_args(dir / "text.txt", dir / "a-file" / "run"), dir),
                 "--out " + (dir / "a-file" / "run").string() + ": cannot create directory (Not a directory)");
  }
  SECTION("a regular file") {
    expect_error(run_cli(train_args(dir / "text.txt", dir / "a-file"), dir),
                 "--out " + (dir / "a-file").string() + ": cannot create directory");
    CHECK(read_file(dir / "a-file") == "not a directory");
  }
  SECTION("under /proc, where even root cannot create a directory") {
    expect_error(run_cli(train_args(dir / "text.txt", "/proc/charnn-test-run"), dir),
                 "--out /proc/charnn-test-run: cannot create directory");
  }
}

TEST_CASE("arguments: usage errors are one line and exit 2", "[cli][args]") {
  const auto dir = fresh_dir("args-usage");
  expect_error(run_cli({}, dir), "A subcommand is required", 2);
  expect_error(run_cli({"train", "--bogus"}, dir), "--bogus", 2);
  expect_error(run_cli({"sample", "--prompt", "the water"}, dir), "--checkpoint is required", 2);
  expect_error(run_cli({"train", "--bs", "many"}, dir), "--bs", 2);
  expect_error(run_cli({"train", "--resume", dir.string(), "--fit", "2@1e-3"}, dir), "--fit excludes --resume", 2);
}

TEST_CASE("arguments: --version names charnn's version and the LibTorch it was built with", "[cli][args]") {
  const auto dir = fresh_dir("args-version");
  const auto r = run_cli({"--version"}, dir);
  expect_success(r);
  CHECK(r.out == CHARNN_EXPECTED_VERSION "\n");
  CHECK(r.err.empty());
}
