#pragma once
// A run directory is one unit, whoever writes it (`train`, `train --resume`, each section of
// `lesson`): one writer at a time, a run replaced only when asked (parked until the new run's
// first checkpoint, train/io/run_files.h), and nothing left behind by a start that fails.
#include <filesystem>
#include <string>

#include "train/io/run_lock.h"

namespace charnn {

class RunDirectory {
 public:
  // Creates dir when it is missing, proves it writable, takes its lock and settles what an
  // earlier replacement left. `flag` names the option that gave dir, for the error lines.
  // Throws InputError when dir cannot be made or written, holds files that are neither a run's
  // nor charnn's and no run (a directory of the user's own, such as `--out .`), or is locked.
  RunDirectory(std::filesystem::path dir, std::string flag);
  RunDirectory(const RunDirectory&) = delete;
  RunDirectory& operator=(const RunDirectory&) = delete;
  // Unless committed: puts a parked run back, removes what a fresh start wrote before its first
  // checkpoint, and removes the directory itself when it was made here and is left empty.
  ~RunDirectory();

  const std::filesystem::path& path() const { return dir_; }
  bool holds_run() const;
  // The run in dir is being replaced: it waits in the parking place until the new run's first
  // checkpoint, and comes back if the new run fails before that.
  void replace();
  // A fresh run starts here (after replace() when there was one): a failure before its first
  // checkpoint then removes what it wrote.
  void start_fresh() { fresh_ = true; }
  // The work ended as it should (finished, or stopped with a resumable checkpoint).
  void commit();

 private:
  std::filesystem::path dir_;
  std::string flag_;
  bool created_ = false;
  bool fresh_ = false;
  bool committed_ = false;
  std::unique_ptr<RunLock> lock_;
};

// Proves dir (made when missing) a writable directory; returns whether it was made here. The
// errors name `flag` and dir.
bool make_writable_dir(const std::filesystem::path& dir, const std::string& flag);

}  // namespace charnn
