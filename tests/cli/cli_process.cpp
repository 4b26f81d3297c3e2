#include "cli_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace charnn::test {

namespace fs = std::filesystem;

std::vector<std::string> CliResult::err_lines() const {
  std::vector<std::string> lines;
  std::istringstream in(err);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

CliProcess::CliProcess(const std::vector<std::string>& args, const fs::path& log_dir, const std::string& tag,
                       const std::vector<std::string>& env)
    : out_(log_dir / (tag + ".stdout")), err_(log_dir / (tag + ".stderr")) {
  fs::create_directories(log_dir);
  std::vector<std::string> argv_store{CHARNN_CLI_PATH};
  argv_store.insert(argv_store.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_store) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  // `env` replaces a variable of the same name (getenv takes the first).
  std::vector<std::string> env_store(env);
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    const auto name = entry.substr(0, entry.find('=') + 1);
    bool replaced = false;
    for (const auto& mine : env) replaced = replaced || mine.rfind(name, 0) == 0;
    if (!replaced) env_store.push_back(entry);
  }
  std::vector<char*> envp;
  for (auto& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);
  const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error(std::string("cannot start ") + CHARNN_CLI_PATH);
}

CliProcess::~CliProcess() {
  if (pid_ > 0 && !reaped_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status_, 0);
  }
}

void CliProcess::send(int sig) const { ::kill(pid_, sig); }

bool CliProcess::running() {
  if (reaped_) return false;
  if (::waitpid(pid_, &status_, WNOHANG) == pid_) reaped_ = true;
  return !reaped_;
}

bool CliProcess::wait_for_stderr(const std::string& text) {
  for (;;) {
    const bool ended = !running();
    if (read_file(err_).find(text) != std::string::npos) return true;
    if (ended) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

CliResult CliProcess::wait() {
  if (!reaped_) {
    while (::waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
  }
  CliResult r;
  if (WIFEXITED(status_)) r.exit_code = WEXITSTATUS(status_);
  if (WIFSIGNALED(status_)) r.term_signal = WTERMSIG(status_);
  r.out = read_file(out_);
  r.err = read_file(err_);
  return r;
}

CliResult run_cli(const std::vector<std::string>& args, const fs::path& log_dir, const std::string& tag,
                  const std::vector<std::string>& env) {
  return CliProcess(args, log_dir, tag, env).wait();
}

fs::path fresh_dir(const std::string& name) {
  const auto dir = fs::path(CHARNN_BINARY_DIR) / "test-cli" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::string synthetic_text(size_t n, uint32_t seed) {
  static const char* const kWords[] = {
      "the", "a", "of", "and", "to", "in", "is", "that", "it", "was", "for", "on", "are", "with",
      "as", "his", "they", "be", "at", "one", "have", "this", "from", "or", "had", "by", "word",
      "but", "what", "some", "we", "can", "out", "other", "were", "all", "there", "when", "up",
      "use", "your", "how", "said", "an", "each", "she", "which", "do", "their", "time", "if",
      "will", "way", "about", "many", "then", "them", "write", "would", "like", "so", "these",
      "her", "long", "make", "thing", "see", "him", "two", "has", "look", "more", "day", "could",
      "go", "come", "did", "number", "sound", "no", "most", "people", "my", "over", "know",
      "water", "than", "call", "first", "who", "may", "down", "side", "been", "now", "find"};
  constexpr size_t kCount = sizeof(kWords) / sizeof(kWords[0]);
  uint32_t state = seed;
  auto next = [&state] { return (state = state * 1664525u + 1013904223u) >> 8; };
  std::string text;
  size_t line = 0;
  while (text.size() < n) {
    std::string word = kWords[next() % kCount];
    if (line == 0) word[0] = static_cast<char>(word[0] - 'a' + 'A');
    text += word;
    line += word.size() + 1;
    const uint32_t r = next() % 16;
    text += line > 60 ? ".\n" : (r == 0 ? ", " : (r == 1 ? "; " : " "));
    if (line > 60) line = 0;
  }
  text.resize(n);
  return text;
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    throw std::runtime_error("cannot find a free port");
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

std::vector<std::string> csv_rows(const fs::path& path) {
  std::vector<std::string> rows;
  std::istringstream in(read_file(path));
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) rows.push_back(line);
  return rows;
}

std::vector<double> csv_column(const fs::path& path, size_t index) {
  std::vector<double> values;
  for (const auto& row : csv_rows(path)) {
    size_t at = 0;
    for (size_t i = 0; i < index; ++i) at = row.find(',', at) + 1;
    values.push_back(std::stod(row.substr(at, row.find(',', at) - at)));
  }
  return values;
}

}  // namespace charnn::test
