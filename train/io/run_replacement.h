#pragma once
// `train --force` over an existing run: the old run's files are parked in DIR/.replaced-run/
// (renames, nothing copied or deleted) while the new run starts, and deleted only once the new
// run has written its first complete checkpoint (train_state.pt). Until then any failure, or a
// kill, leaves the old run recoverable: the next `charnn train` on DIR puts it back first.
#include <filesystem>

namespace charnn {

// Whether DIR holds (part of) a run: a config.json, model.pt or train_state.pt, or a parked one.
bool holds_run(const std::filesystem::path& dir);

// Settles what an earlier replacement left: a parked run whose replacement never reached a
// checkpoint is put back; one whose replacement did is deleted. Call with DIR locked.
void recover_replaced_run(const std::filesystem::path& dir);

// Parks DIR's run files (call with DIR locked, after recover_replaced_run).
void park_run(const std::filesystem::path& dir);

}  // namespace charnn
