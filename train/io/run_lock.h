#pragma once
// One writer per run directory: two `charnn train` processes with the same directory would
// leave one run's config.json beside the other's model.pt.
#include <filesystem>

namespace charnn {

// Holds an exclusive flock on DIR/.lock for its lifetime (and the process's: the kernel drops
// it when the process ends, however it ends). Throws InputError naming the directory when
// another process holds it.
class RunLock {
 public:
  explicit RunLock(const std::filesystem::path& dir);
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;
  ~RunLock();

 private:
  int fd_ = -1;
};

}  // namespace charnn
