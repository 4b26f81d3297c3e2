#include "app/parallel.h"

#include <fmt/format.h>
#include <unistd.h>

#include <charconv>

#include "common/error.h"
#include "common/file.h"
#include "train/io/atomic_file.h"
#include "train/io/config_file.h"
#include "train/io/train_state.h"

namespace charnn::cli {
namespace {

namespace fs = std::filesystem;

const char* const kSharedFiles[] = {kConfigFile, kModelFile, kTrainStateFile};

void parse_master(const std::string& master, ParallelOptions& o) {
  const auto colon = master.rfind(':');
  int port = 0;
  const auto digits = colon == std::string::npos ? std::string() : master.substr(colon + 1);
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (colon == 0 || colon == std::string::npos || error != std::errc() || end != digits.data() + digits.size() ||
      port < 1 || port > 65535) {
    throw InputError(fmt::format("--master {}: expected HOST:PORT, e.g. 10.0.0.1:29500", master));
  }
  o.master_addr = master.substr(0, colon);
  o.master_port = port;
}

}  // namespace

ParallelOptions parallel_options(const ParallelArgs& flags) {
  auto o = parallel_options_from_environment();
  if (flags.world_size > 0) o.world = flags.world_size;
  if (flags.rank >= 0) o.rank = flags.rank;
  if (o.rank >= o.world) {
    throw InputError(fmt::format("--rank {}: a run of --world-size {} has ranks 0 to {}", o.rank, o.world, o.world - 1));
  }
  if (!flags.master.empty()) parse_master(flags.master, o);
  o.bind = flags.bind;
  o.timeout = std::chrono::seconds(flags.timeout);
  return o;
}

int64_t agreed_checkpoint_every(Shard& shard, int64_t mine) {
  const auto text = shard.broadcast(std::to_string(mine));
  return std::stoll(text);
}

void send_run_files(Shard& shard, const fs::path& dir) {
  for (const char* name : kSharedFiles) shard.broadcast(read_whole_file(dir / name, "a run's file"));
}

void receive_run_files(Shard& shard, const fs::path& dir) {
  for (const char* name : kSharedFiles) write_file_atomically(dir / name, shard.broadcast(std::string()));
}

PrivateRunDirectory::PrivateRunDirectory(int64_t rank)
    : path_(fs::temp_directory_path() / fmt::format("charnn-rank{}-{}", rank, ::getpid())) {
  fs::remove_all(path_);
  fs::create_directories(path_);
}

PrivateRunDirectory::~PrivateRunDirectory() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

}  // namespace charnn::cli
