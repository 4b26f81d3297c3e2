#pragma once
// A training run as the CLI drives it: the text -> the model's family's data (train/families/)
// -> the model -> the optimizer -> the schedule of fit calls, with progress, metrics and
// checkpoints in a run directory, interruption at a batch boundary and exact resume.
#include <atomic>
#include <filesystem>
#include <vector>

#include "train/fit.h"
#include "train/io/config_file.h"
#include "train/shard.h"

namespace charnn {

struct SessionOptions {
  std::filesystem::path out;           // the run directory
  int64_t metrics_every = 10;          // batches between batches.csv rows
  int64_t checkpoint_every = 500;      // batches between resumable checkpoints (0 = never)
  bool progress = true;                // progress bar / lines on stderr
  torch::Device device = torch::kCPU;
  // PyTorch's nn layers, the step bit for bit PyTorch's; otherwise the fused layers where the
  // model has them (models/fused/fast_paths.h), equal within 1e-6 and faster.
  bool plain = false;
  const std::atomic<int>* stop_signal = nullptr;  // non-zero: stop at the next batch boundary
  std::atomic<bool>* in_fit = nullptr;            // set while a fit call runs, cleared after
  std::vector<FitObserver*> observers;            // the caller's, told of every fit call's progress
  // One process of several (train/parallel/): its part of every batch, and the collectives that
  // make the run the single process's. Every rank runs the session; options.out is rank 0's
  // run directory, another rank's a private one. Unset: the single process.
  Shard* shard = nullptr;
  bool quiet = false;  // no epoch rows on stdout (the ranks other than 0)
};

struct FitCallResult {
  FitCall call;
  std::vector<EpochRow> rows;
  double seconds = 0;
};

struct SessionResult {
  std::vector<FitCallResult> fits;  // the fit calls finished in this process
  bool completed = true;            // false: stopped by a signal, resumable from out
  bool already_finished = false;    // a resume found every fit call done, and wrote nothing
  bool plotted = false;             // loss.png was drawn
  int64_t stopped_fit = -1, stopped_epoch = -1, stopped_batch = -1;
};

// Starts a fresh run into options.out (created; an existing run there is replaced).
SessionResult train_run(RunConfig config, const SessionOptions& options);
// Continues the run saved in options.out from its last checkpoint; a run whose schedule is done
// is left as it is (already_finished).
SessionResult resume_run(const SessionOptions& options);

// Where a saved run stands: what `--resume` continues from.
struct ResumePoint {
  int64_t fit = 0;    // the fit call in progress (0-based; the schedule's length once all are done)
  int64_t epoch = 0;  // within that fit call
  int64_t batch = 0;  // the next batch to train in that epoch
  int64_t step = 0;   // optimizer steps of the whole run so far
};
// Reads dir's config.json, model.pt and train_state.pt, not the corpus, and checks that they
// fit together; anything unreadable, corrupt or foreign throws InputError.
ResumePoint read_resume_point(const std::filesystem::path& dir);

// A finished (or checkpointed) run's model, ready for sampling (its family's generate()).
struct LoadedModel {
  RunConfig config;
  LessonModel model;
};
LoadedModel load_run_model(const std::filesystem::path& dir);

}  // namespace charnn
