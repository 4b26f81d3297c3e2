#pragma once
// A run's settings: the model, its data, its schedule and its optimizer, as the CLI or a
// lesson section gives them and as config.json keeps them (train/io/config_file.h).
#include <cstdint>
#include <string>
#include <vector>

#include "common/file.h"
#include "models/registry.h"
#include "train/schedule.h"

namespace charnn {

struct RunConfig {
  ModelConfig model;
  int64_t window = 0;  // characters per input window; 0 = the layout's lesson default
  std::vector<FitCall> schedule;
  uint64_t seed = 0;
  int64_t bs = 512;
  std::string text;        // the corpus path the run was trained on, absolute
  // The whole file and the bytes trained on (its first max_chars characters): a resumed run
  // checks it trains on the same text.
  Digest text_digest, trained_digest;
  int64_t max_chars = 0;   // train on the first max_chars characters only (0 = all)
  // Threads each training batch is cut across (train/sharded_step.h). 0 asks for one per
  // core and is resolved when the run starts, so that a resumed run cuts batches as the
  // original did; 1 is the plain step, bit for bit PyTorch's.
  int64_t shards = 0;
  // The vocabulary, index by index, each entry in UTF-8: the windowed models' chars ("\0", then
  // the text's characters in code point order), the stateful models' torchtext itos ("<unk>",
  // "<pad>", then the characters by count). Set from the text when the run starts.
  std::vector<std::string> vocab;
  std::string optimizer = "adam";  // a registry name (train/optimizer.h)
  // The processes the run started on, and their collectives' backend ("gloo"; "none" alone). A
  // resume may use another count: a checkpoint holds the whole batch's state.
  int64_t world_size = 1;
  std::string backend = "none";
  double wd = 0.0;  // the optimizer's weight_decay: Adam's coupled L2, LayerOptimizer's
  // The stateful models' language-model data (Family::splits_text_by_lines): the lines of the
  // text that train (the rest validate), resolved when the run starts.
  int64_t trn_lines = 0;
  // len(trn_dl) and the rows (windows, or tokens per column) it covers, recorded when the run
  // starts: a saved position is checked against them without reading the corpus again.
  int64_t trn_batches = 0, trn_rows = 0;
};

}  // namespace charnn
