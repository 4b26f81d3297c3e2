#pragma once
#include <filesystem>

namespace charnn {

// Draws loss.png in a run directory from batches.csv and epochs.csv with gnuplot.
// Returns false (and says why on stderr) when gnuplot is not installed or fails; the
// run's numbers are in the CSV files either way.
bool plot_losses(const std::filesystem::path& dir);

}  // namespace charnn
