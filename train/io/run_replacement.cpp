#include "train/io/run_replacement.h"

#include <fmt/format.h>

#include <string>
#include <vector>

#include "common/error.h"
#include "train/io/metrics.h"
#include "train/io/run_config.h"
#include "train/io/train_state.h"

namespace charnn {
namespace {

namespace fs = std::filesystem;

constexpr const char* kParked = ".replaced-run";

const std::vector<std::string>& run_files() {
  static const std::vector<std::string> files{kConfigFile,
                                              kModelFile,
                                              kTrainStateFile,
                                              MetricsWriter::kEpochsFile,
                                              MetricsWriter::kBatchesFile,
                                              "loss.png"};
  return files;
}

void move_run_files(const fs::path& from, const fs::path& to) {
  for (const auto& name : run_files()) {
    if (!fs::exists(fs::symlink_status(from / name))) continue;
    std::error_code ec;
    fs::rename(from / name, to / name, ec);
    if (ec) {
      throw InputError(fmt::format("{}: cannot move to {} ({})", (from / name).string(), to.string(), ec.message()));
    }
  }
}

}  // namespace

bool holds_run(const fs::path& dir) {
  for (const char* name : {kConfigFile, kModelFile, kTrainStateFile, kParked}) {
    std::error_code ec;
    if (fs::exists(fs::symlink_status(dir / name, ec))) return true;
  }
  return false;
}

void recover_replaced_run(const fs::path& dir) {
  const auto parked = dir / kParked;
  if (!fs::is_directory(parked)) return;
  if (!fs::exists(dir / kTrainStateFile)) {
    // The replacement never got as far as a checkpoint: what it wrote goes, the old run returns.
    for (const auto& name : run_files()) fs::remove(dir / name);
    move_run_files(parked, dir);
  }
  fs::remove_all(parked);
}

void park_run(const fs::path& dir) {
  const auto parked = dir / kParked;
  fs::create_directory(parked);
  move_run_files(dir, parked);
}

}  // namespace charnn
