#pragma once
// The charnn subcommands: each parses nothing itself, takes its options, wires the
// library together and returns the process exit code.
#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "train/io/config_file.h"

namespace charnn::cli {

extern std::atomic<int> g_stop_signal;  // set by SIGINT/SIGTERM; training stops at a batch boundary
extern std::atomic<bool> g_in_fit;      // a fit call runs: a signal waits for its batch boundary

// A run over several processes (torchrun's environment, or these flags, which win).
struct ParallelArgs {
  int64_t rank = -1;        // -1: $RANK, else 0
  int64_t world_size = 0;   // 0: $WORLD_SIZE, else 1
  std::string master;       // HOST:PORT; empty: $MASTER_ADDR:$MASTER_PORT, else 127.0.0.1:29500
  std::string bind;         // the address this rank's Gloo device binds
  int64_t timeout = 300;    // seconds a peer may stay silent
};

struct TrainArgs {
  RunConfig run;
  std::vector<std::string> fits;  // "EPOCHS@LR[:cosM]"
  int64_t bs = 0;                 // 0: the model's lesson default
  int64_t n_hidden = 0;           // 0: the model's lesson default
  std::string out = "runs/latest";
  std::string resume;
  std::string device = "cpu";
  int64_t metrics_every = 10;
  int64_t checkpoint_every = 500;
  bool no_progress = false;
  bool force = false;  // replace a run already in --out
  bool plain = false;  // PyTorch's nn layers instead of the fused ones
  ParallelArgs parallel;
};

struct SampleArgs {
  std::string checkpoint;
  std::string prompt;
  int64_t n = 400;
  bool greedy = false;
  std::optional<double> temperature;
  uint64_t seed = 0;
};

struct LessonArgs {
  std::string text;
  std::string out = "runs/lesson";
  uint64_t seed = 0;
  bool quick = false;
  std::vector<std::string> only;  // section names; empty = all
  int64_t shards = 0;
  bool force = false;  // replace a section's run made with other settings
  bool plain = false;  // PyTorch's nn layers instead of the fused ones (implied by --shards 1)
};

// `charnn shapes MODEL` and `charnn batches MODEL`: the lesson's data and one forward, shown.
struct ShapesArgs {
  std::string model;
  int64_t bs = 0;  // 0: the model's lesson batch size
  std::string text;
  int64_t max_chars = 0;
  uint64_t seed = 0;
  bool json = false;
};

struct BatchesArgs {
  std::string model;
  int64_t rows = 8;
  int64_t bs = 0;
  std::string text;
  int64_t max_chars = 0;
  uint64_t seed = 0;
  bool json = false;
};

// --text, else $CHARNN_TEXT, else the corpus that comes with charnn, else data/nietzsche.txt.
std::string resolve_text(const std::string& flag);

int run_train(TrainArgs args);
int run_sample(const SampleArgs& args);
int run_lesson(const LessonArgs& args);
int run_shapes(const ShapesArgs& args);
int run_batches(const BatchesArgs& args);

}  // namespace charnn::cli
