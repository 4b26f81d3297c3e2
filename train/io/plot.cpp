#include "train/io/plot.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <string_view>

#include "common/console.h"
#include "train/io/atomic_file.h"
#include "train/io/metrics.h"
#include "train/io/run_files.h"

extern char** environ;

namespace charnn {
namespace {

namespace fs = std::filesystem;

constexpr const char* kTempPlot = ".loss.png.tmp";

// Relative names only: gnuplot's working directory is the run directory.
constexpr std::string_view kScript =
    "set terminal pngcairo size 900,760\n"
    "set output '.loss.png.tmp'\n"
    "set datafile separator ','\n"
    "set key autotitle columnhead\n"
    "set grid\n"
    "set multiplot layout 2,1\n"
    "set xlabel 'step'\nset ylabel 'loss'\n"
    "plot 'batches.csv' using 5:6 with lines lc rgb '#bbbbbb' title 'batch loss', "
    "'' using 5:7 with lines lw 2 lc rgb '#1f77b4' title 'smoothed training loss', "
    "'epochs.csv' using 4:6 with linespoints lw 2 pt 7 lc rgb '#d62728' title 'validation loss'\n"
    "set ylabel 'learning rate'\nset format y '%.0e'\n"
    "plot 'batches.csv' using 5:2 with lines lw 2 lc rgb '#2ca02c' title 'learning rate'\n"
    "unset multiplot\n";

// gnuplot reading the script from a pipe, in dir, its output discarded. Returns its exit status
// (127 when it could not be started), or -1 when no process could be made.
int run_gnuplot(const fs::path& dir) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return -1;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[0], 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addchdir_np(&actions, dir.c_str());
  char name[] = "gnuplot";
  char* argv[] = {name, nullptr};
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, name, &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[0]);
  if (rc != 0) {
    ::close(fds[1]);
    return rc == ENOENT ? 127 : -1;
  }
  // A gnuplot that dies early must not take this process with it through SIGPIPE.
  const auto previous = std::signal(SIGPIPE, SIG_IGN);
  for (size_t done = 0; done < kScript.size();) {
    const ssize_t n = ::write(fds[1], kScript.data() + done, kScript.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  ::close(fds[1]);
  std::signal(SIGPIPE, previous);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

bool plot_losses(const fs::path& dir) {
  std::error_code ec;
  // A plot of earlier numbers than the CSVs hold would mislead: it goes whatever happens next.
  fs::remove(dir / kLossPlotFile, ec);
  fs::remove(dir / kTempPlot, ec);
  if (!fs::exists(dir / MetricsWriter::kBatchesFile) || !fs::exists(dir / MetricsWriter::kEpochsFile)) return false;
  const int status = run_gnuplot(dir);
  if (status == 127) {
    note("note: gnuplot not found, no loss.png (apt-get install gnuplot-nox)\n");
    return false;
  }
  if (status != 0 || !fs::exists(dir / kTempPlot)) {
    fs::remove(dir / kTempPlot, ec);
    note("note: gnuplot failed, no loss.png\n");
    return false;
  }
  rename_atomically(dir / kTempPlot, dir / kLossPlotFile);
  return true;
}

}  // namespace charnn
