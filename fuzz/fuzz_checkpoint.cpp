// libFuzzer target: everything that reads a run directory back. The first input byte picks
// the reader, the rest is the file's content:
//   0  model.pt         charnn::read_tensor_dict, then load_state_dict into a small char-rnn
//   1  config.json      charnn::read_run_config
//   2  train_state.pt   charnn::read_resume_point (the --resume loader), against a fixed run
// Every input must either load or throw InputError (the CLI's one-line error); anything
// else (another exception, a crash, a sanitizer report) is a finding.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "data/corpus.h"
#include "models/registry.h"
#include "train/io/checkpoint.h"
#include "data/lesson_data.h"
#include "train/io/config_file.h"
#include "train/io/train_state.h"
#include "train/run/session.h"

namespace fs = std::filesystem;

namespace {

// The run fuzz/make_seeds.sh trains for the train_state.pt seed: same text, same settings.
constexpr const char* kText = "the cat sat on the mat; the dog sat on the log.\n";

charnn::RunConfig seed_run_config(const fs::path& text) {
  charnn::RunConfig c;
  c.model = {"char-rnn", 0, 2, 3, false};
  c.schedule = {{1, 1e-2}};
  c.seed = 0;
  c.bs = 4;
  c.shards = 1;  // as make_seeds.sh trains it; 0 (unresolved) is not a valid saved value
  c.text = text.string();
  const auto corpus = charnn::corpus_from_utf8(kText, text.string());
  c.vocab = corpus.vocab.tokens();
  c.model.vocab_size = corpus.vocab.size();
  // The loader config.json records, which a saved position is checked against.
  const auto md = charnn::lesson_data(corpus, charnn::Layout::Overlapping, 8, c.bs, c.seed);
  c.trn_batches = md.trn_dl.num_batches();
  c.trn_rows = md.trn_dl.num_rows();
  c.text_digest = c.trained_digest = charnn::digest_of(kText);
  return c;
}

void write(const fs::path& path, const uint8_t* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
}

// One scratch run directory per fuzzing process: config.json and the corpus stay fixed,
// the fuzzed file is rewritten for each input.
const fs::path& scratch() {
  static const fs::path dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    auto d = fs::path(tmp && *tmp ? tmp : "/tmp") / ("charnn-fuzz-" + std::to_string(::getpid()));
    fs::create_directories(d / "run");
    std::ofstream(d / "text.txt", std::ios::binary) << kText;
    charnn::write_run_config(d / "run", seed_run_config(d / "text.txt"));
    return d;
  }();
  return dir;
}

void load_model_file(const fs::path& dir) {
  auto model = charnn::make_model(seed_run_config(dir / "text.txt").model);
  charnn::load_state_dict(*model.module, dir / "model.pt");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  torch::set_num_threads(1);  // one thread: reproducible, and no pool to leak-check
  scratch();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const auto& dir = scratch();
  const auto run = dir / "run";
  try {
    switch (data[0]) {
      case 0:
        write(dir / "model.pt", data + 1, size - 1);
        load_model_file(dir);
        break;
      case 1: {
        const auto config_dir = dir / "config";
        fs::create_directories(config_dir);
        write(config_dir / charnn::kConfigFile, data + 1, size - 1);
        charnn::read_run_config(config_dir);
        break;
      }
      case 2:
        write(run / charnn::kTrainStateFile, data + 1, size - 1);
        charnn::read_resume_point(run);
        break;
      default:
        break;
    }
  } catch (const charnn::InputError&) {
  }
  return 0;
}
