#pragma once
// What a run directory says about itself (config.json): enough to rebuild the model and
// its vocabulary without the corpus, and to resume or repeat the run.
#include <filesystem>
#include <string>
#include <vector>

#include "common/file.h"
#include "data/corpus.h"
#include "models/registry.h"

namespace charnn {

// One fit call of the schedule: `--fit EPOCHS@LR[:cosM]`.
struct FitCall {
  int64_t epochs;
  double lr;  // ignored when lr_from_previous
  // The rate through the call: constant (set_lrs before it), or fastai's CosAnneal(lo,
  // len(trn_dl), cycle_mult) started from lr, which writes cyc_N.pt at each cycle's end.
  enum class Kind { Constant, CosAnneal } kind = Kind::Constant;
  int64_t cycle_mult = 1;
  // LR given as "prev": start from the rate the previous call left (lo.lrs), as the notebook's
  // second CosAnneal does (docs/lesson-semantics.md §10.2, quirk 3).
  bool lr_from_previous = false;
};

struct RunConfig {
  ModelConfig model;
  int64_t window = 0;  // characters per input window; 0 = the layout's lesson default
  std::vector<FitCall> schedule;
  uint64_t seed = 0;
  int64_t bs = 512;
  std::string text;        // the corpus path the run was trained on, absolute
  // The whole file and the bytes trained on (its first max_chars characters): a resumed run
  // checks it trains on the same text. Zero lengths: a run saved before they were kept.
  Digest text_digest, trained_digest;
  int64_t max_chars = 0;   // train on the first max_chars characters only (0 = all)
  // Threads each training batch is cut across (train/sharded_step.h). 0 asks for one per
  // core and is resolved when the run starts, so that a resumed run cuts batches as the
  // original did; 1 is the plain step, bit for bit PyTorch's.
  int64_t shards = 0;
  std::vector<char32_t> vocab;
  double wd = 0.0;  // Adam's weight_decay: coupled L2, LayerOptimizer's
  // The stateful models' language-model data: the lines of the text that train (the rest
  // validate), resolved when the run starts.
  int64_t trn_lines = 0;
  // A stateful (language-model) run's vocabulary instead: torchtext's itos, UTF-8 tokens,
  // '<unk>' and '<pad>' first (data/text_field.h). Stored as 'itos'; `vocab` is then empty.
  std::vector<std::string> itos;
  // len(trn_dl) and the rows (windows, or tokens per column) it covers, recorded when the run
  // starts: a saved position is checked against them without reading the corpus again. Zero: a
  // run saved before they were kept.
  int64_t trn_batches = 0, trn_rows = 0;
};

constexpr const char* kConfigFile = "config.json";

std::string to_json(const RunConfig& config);
// Throws InputError naming the file and the field on anything missing or malformed.
RunConfig read_run_config(const std::filesystem::path& dir);
void write_run_config(const std::filesystem::path& dir, const RunConfig& config);

}  // namespace charnn
