#pragma once
// Runs the real charnn binary (the one this build made) as a child process: its exit
// status, what it printed, and signals sent to it while it runs. Output goes to files, so
// a chatty child can never block on a full pipe.
#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace charnn::test {

struct CliResult {
  int exit_code = -1;   // the status it exited with; -1 when a signal killed it
  int term_signal = 0;  // the signal that killed it; 0 when it exited
  std::string out;      // stdout
  std::string err;      // stderr
  std::vector<std::string> err_lines() const;
};

class CliProcess {
 public:
  // Starts `charnn args...` with stdin from /dev/null; stdout and stderr go to
  // log_dir/<tag>.stdout and .stderr. `env` ("NAME=value") is added to this process's
  // environment, replacing a variable of the same name.
  CliProcess(const std::vector<std::string>& args, const std::filesystem::path& log_dir,
             const std::string& tag = "charnn", const std::vector<std::string>& env = {});
  CliProcess(const CliProcess&) = delete;
  CliProcess& operator=(const CliProcess&) = delete;
  ~CliProcess();  // a child still running (a failed test) is killed, never left behind

  void send(int sig) const;
  bool running();
  // Waits until stderr holds `text` (true), or the process has ended without writing it (false).
  // What a test waits for is what the process did, never how long it took.
  bool wait_for_stderr(const std::string& text);
  // Waits for the process to end. A hung child is left to the test runner's own timeout.
  CliResult wait();

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
  std::filesystem::path out_, err_;
};

// Runs charnn to completion.
CliResult run_cli(const std::vector<std::string>& args, const std::filesystem::path& log_dir,
                  const std::string& tag = "charnn", const std::vector<std::string>& env = {});

// An empty directory for one test under the build tree (left there to look at afterwards).
std::filesystem::path fresh_dir(const std::string& name);

std::string read_file(const std::filesystem::path& path);
void write_file(const std::filesystem::path& path, const std::string& bytes);

// A deterministic, learnable English-like text of exactly n ASCII characters (lines of
// words drawn from a small list by a fixed LCG), so no test depends on the corpus download.
std::string synthetic_text(size_t n, uint32_t seed = 1);

// A TCP port nothing listens on now (the kernel's pick), for a test's process group.
int free_port();

// Data rows of a CSV file (the header dropped).
std::vector<std::string> csv_rows(const std::filesystem::path& path);
// One column of those rows, as numbers.
std::vector<double> csv_column(const std::filesystem::path& path, size_t index);

}  // namespace charnn::test
