#include "train/run/run_directory.h"

#include <fmt/format.h>

#include <fstream>

#include "common/error.h"
#include "train/io/run_files.h"
#include "train/io/train_state.h"

namespace charnn {

namespace fs = std::filesystem;

bool make_writable_dir(const fs::path& dir, const std::string& flag) {
  std::error_code ec;
  const bool existed = fs::exists(dir, ec);
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) {
    throw InputError(fmt::format("{} {}: cannot create directory ({})", flag, dir.string(),
                                 ec ? ec.message() : "a file of that name is in the way"));
  }
  const auto probe = dir / ".charnn-write-test";
  if (!std::ofstream(probe)) throw InputError(fmt::format("{} {}: the directory is not writable", flag, dir.string()));
  fs::remove(probe, ec);
  return !existed;
}

RunDirectory::RunDirectory(fs::path dir, std::string flag) : dir_(std::move(dir)), flag_(std::move(flag)) {
  created_ = make_writable_dir(dir_, flag_);
  try {
    lock_ = std::make_unique<RunLock>(dir_);
    recover_replaced_run(dir_);
    if (!charnn::holds_run(dir_)) {
      if (const auto foreign = foreign_entries(dir_); !foreign.empty()) {
        throw InputError(fmt::format("{} {}: holds {} and no charnn run; give a new or empty directory", flag_,
                                     dir_.string(),
                                     foreign.size() == 1 ? fmt::format("'{}'", foreign[0])
                                                         : fmt::format("{} entries ('{}', ...)", foreign.size(),
                                                                       foreign[0])));
      }
    }
  } catch (...) {
    lock_.reset();
    if (created_) {
      std::error_code ec;
      fs::remove(dir_ / ".lock", ec);
      fs::remove(dir_, ec);
    }
    throw;
  }
}

bool RunDirectory::holds_run() const { return charnn::holds_run(dir_); }

void RunDirectory::replace() {
  if (charnn::holds_run(dir_)) park_run(dir_);
}

void RunDirectory::commit() {
  recover_replaced_run(dir_);
  committed_ = true;
}

RunDirectory::~RunDirectory() {
  if (committed_) return;
  std::error_code ec;
  try {
    if (fresh_ && !fs::exists(dir_ / kTrainStateFile, ec)) remove_run_files(dir_);
    recover_replaced_run(dir_);
  } catch (const std::exception&) {
    // The error being reported matters more; the next writer settles the directory again.
  }
  if (created_ && fs::is_directory(dir_, ec)) {
    lock_.reset();
    bool empty = true;
    for (const auto& entry : fs::directory_iterator(dir_, ec)) empty = empty && entry.path().filename() == ".lock";
    if (empty) {
      fs::remove(dir_ / ".lock", ec);
      fs::remove(dir_, ec);
    }
  }
}

}  // namespace charnn
