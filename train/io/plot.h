#pragma once
#include <filesystem>

namespace charnn {

// Draws loss.png in a run directory from batches.csv and epochs.csv with gnuplot: fastai's
// sched.plot_loss() (the batch losses, their smoothed line and the validation losses) above
// sched.plot_lr() (the rate each batch trained at, where CosAnneal's restarts show). gnuplot
// runs in the run directory and its script names only the fixed file names, so no path or other
// text of the user's ever reaches it or a shell. Returns false, leaving no loss.png, and says why
// on stderr when there is nothing to plot, gnuplot is not installed, or it fails; the run's
// numbers are in the CSV files either way.
bool plot_losses(const std::filesystem::path& dir);

}  // namespace charnn
