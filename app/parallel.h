#pragma once
// The CLI's side of a run over several processes (train/parallel/): who this process is, and
// what rank 0 tells the others before they train (its checkpoint cadence, a resumed run's files).
#include <filesystem>

#include "app/commands.h"
#include "train/parallel/process_group.h"

namespace charnn::cli {

// torchrun's environment with the flags on top. Throws InputError naming a flag that does not fit.
ParallelOptions parallel_options(const ParallelArgs& flags);

// The checkpoints are collective (the stateful models' state is gathered from every rank), so
// every rank saves at rank 0's cadence.
int64_t agreed_checkpoint_every(Shard& shard, int64_t mine);

// A resumed run's config.json, model.pt and train_state.pt, from rank 0's run directory to the
// others' private ones.
void send_run_files(Shard& shard, const std::filesystem::path& dir);
void receive_run_files(Shard& shard, const std::filesystem::path& dir);

// A rank's own run directory, beside rank 0's: under the temp directory, gone with the process.
class PrivateRunDirectory {
 public:
  explicit PrivateRunDirectory(int64_t rank);
  ~PrivateRunDirectory();
  PrivateRunDirectory(const PrivateRunDirectory&) = delete;
  PrivateRunDirectory& operator=(const PrivateRunDirectory&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace charnn::cli
