#include "train/io/run_files.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

#include "common/error.h"
#include "train/io/metrics.h"
#include "train/io/config_file.h"
#include "train/io/train_state.h"

namespace charnn {
namespace {

namespace fs = std::filesystem;

constexpr const char* kParked = ".replaced-run";
constexpr const char* kLock = ".lock";

// cyc_N.pt, N decimal digits: the notebook's save_model(m, f'{PATH}models/cyc_{cycle}').
bool is_cycle_file(std::string_view name, int64_t* cycle = nullptr) {
  constexpr std::string_view prefix = "cyc_", suffix = ".pt";
  if (name.size() <= prefix.size() + suffix.size() || name.substr(0, prefix.size()) != prefix ||
      name.substr(name.size() - suffix.size()) != suffix) {
    return false;
  }
  const auto digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  if (digits.size() > 18 || digits.find_first_not_of("0123456789") != std::string_view::npos) return false;
  if (cycle != nullptr) *cycle = std::strtoll(std::string(digits).c_str(), nullptr, 10);
  return true;
}

// The fixed names, in the order the final line lists them; cyc_N.pt follow.
const std::vector<std::string>& named_files() {
  static const std::vector<std::string> files{kModelFile,
                                              kConfigFile,
                                              MetricsWriter::kEpochsFile,
                                              MetricsWriter::kBatchesFile,
                                              kLossPlotFile,
                                              kTrainStateFile,
                                              kPendingModelFile};
  return files;
}

// charnn's own entries beside a run: the lock, a parked run, and the temp files a write leaves
// when it is killed (".NAME.tmp.PID", ".loss.png.tmp").
bool is_own_entry(const std::string& name) {
  return name == kLock || name == kParked || (name.size() > 1 && name[0] == '.' && name.find(".tmp") != std::string::npos);
}

bool exists_no_follow(const fs::path& path) {
  std::error_code ec;
  return fs::exists(fs::symlink_status(path, ec));
}

void move_run_files(const fs::path& from, const fs::path& to) {
  for (const auto& name : run_files(from)) {
    std::error_code ec;
    fs::rename(from / name, to / name, ec);
    if (ec) {
      throw InputError(fmt::format("{}: cannot move to {} ({})", (from / name).string(), to.string(), ec.message()));
    }
  }
}

}  // namespace

bool is_run_file(std::string_view name) {
  const auto& named = named_files();
  return std::find(named.begin(), named.end(), name) != named.end() || is_cycle_file(name);
}

std::vector<std::string> run_files(const fs::path& dir) {
  std::vector<std::string> present;
  for (const auto& name : named_files()) {
    if (exists_no_follow(dir / name)) present.push_back(name);
  }
  std::vector<std::pair<int64_t, std::string>> cycles;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const auto name = entry.path().filename().string();
    int64_t cycle = 0;
    if (is_cycle_file(name, &cycle)) cycles.emplace_back(cycle, name);
  }
  std::sort(cycles.begin(), cycles.end());
  for (auto& [cycle, name] : cycles) present.push_back(std::move(name));
  return present;
}

bool holds_run(const fs::path& dir) { return exists_no_follow(dir / kParked) || !run_files(dir).empty(); }

std::vector<std::string> foreign_entries(const fs::path& dir) {
  std::vector<std::string> foreign;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const auto name = entry.path().filename().string();
    if (!is_run_file(name) && !is_own_entry(name)) foreign.push_back(name);
  }
  std::sort(foreign.begin(), foreign.end());
  return foreign;
}

void recover_replaced_run(const fs::path& dir) {
  const auto parked = dir / kParked;
  if (!fs::is_directory(parked)) return;
  if (!fs::exists(dir / kTrainStateFile)) {
    // The replacement never got as far as a checkpoint: what it wrote goes, the old run returns.
    remove_run_files(dir);
    move_run_files(parked, dir);
  }
  fs::remove_all(parked);
}

void park_run(const fs::path& dir) {
  const auto parked = dir / kParked;
  fs::create_directory(parked);
  move_run_files(dir, parked);
}

void remove_run_files(const fs::path& dir) {
  for (const auto& name : run_files(dir)) fs::remove(dir / name);
}

fs::path current_run(const fs::path& dir) {
  const auto parked = dir / kParked;
  std::error_code ec;
  if (fs::is_directory(parked, ec) && !fs::exists(dir / kTrainStateFile, ec)) return parked;
  return dir;
}

}  // namespace charnn
