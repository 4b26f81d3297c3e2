#include "train/io/plot.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>

#include "train/io/metrics.h"

namespace charnn {

bool plot_losses(const std::filesystem::path& dir) {
  const auto batches = dir / MetricsWriter::kBatchesFile;
  const auto epochs = dir / MetricsWriter::kEpochsFile;
  if (!std::filesystem::exists(batches) || !std::filesystem::exists(epochs)) return false;
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
    fmt::print(stderr, "note: gnuplot not found, no loss.png (apt-get install gnuplot-nox)\n");
    return false;
  }
  const auto png = dir / "loss.png";
  const auto tmp = dir / ".loss.png.tmp";
  FILE* gp = ::popen("gnuplot", "w");
  if (gp == nullptr) return false;
  fmt::print(gp,
             "set terminal pngcairo size 900,540\n"
             "set output '{}'\n"
             "set datafile separator ','\n"
             "set key autotitle columnhead\n"
             "set xlabel 'step'\nset ylabel 'loss'\nset grid\n"
             "plot '{}' using 5:6 with lines lc rgb '#bbbbbb' title 'batch loss', "
             "'' using 5:7 with lines lw 2 lc rgb '#1f77b4' title 'smoothed training loss', "
             "'{}' using 4:6 with linespoints lw 2 pt 7 lc rgb '#d62728' title 'validation loss'\n",
             tmp.string(), batches.string(), epochs.string());
  const bool ok = ::pclose(gp) == 0 && std::filesystem::exists(tmp);
  if (ok) std::filesystem::rename(tmp, png);
  if (!ok) fmt::print(stderr, "note: gnuplot failed, no loss.png\n");
  return ok;
}

}  // namespace charnn
