#pragma once
// The files of a run directory, named in one place: what a fresh run clears, what `--force`
// parks, what a failed start removes, what the final line lists and what `sample` reads.
//
// `train --force` over an existing run parks the old run's files in DIR/.replaced-run/
// (renames, nothing copied or deleted) while the new run starts, and deletes them only once the
// new run has written its first complete checkpoint (train_state.pt). Until then any failure,
// or a kill, leaves the old run recoverable: the next `charnn train` on DIR puts it back first,
// and `charnn sample` reads it.
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace charnn {

constexpr const char* kLossPlotFile = "loss.png";

// Whether a file name belongs to a run: config.json, model.pt, train_state.pt, epochs.csv,
// batches.csv, loss.png, cyc_N.pt (one per finished CosAnneal cycle) and model.pt.next (a
// checkpoint's commit in progress).
bool is_run_file(std::string_view name);

// The run files present in dir, in the order the final line lists them (cyc_N.pt by N).
std::vector<std::string> run_files(const std::filesystem::path& dir);

// Whether dir holds (part of) a run, or a parked one.
bool holds_run(const std::filesystem::path& dir);

// Names in dir that are neither a run's nor charnn's own (its lock, a parked run, temp files):
// a directory holding any of them and no run is not one to write a run into.
std::vector<std::string> foreign_entries(const std::filesystem::path& dir);

// Settles what an earlier replacement left: a parked run whose replacement never reached a
// checkpoint is put back; one whose replacement did is deleted. Call with dir locked.
void recover_replaced_run(const std::filesystem::path& dir);

// Parks dir's run files (call with dir locked, after recover_replaced_run).
void park_run(const std::filesystem::path& dir);

// Removes dir's run files: what a start that failed before its first checkpoint wrote.
void remove_run_files(const std::filesystem::path& dir);

// The directory that holds the run a reader should see in dir: the parked run until its
// replacement has written a checkpoint, dir itself otherwise.
std::filesystem::path current_run(const std::filesystem::path& dir);

}  // namespace charnn
