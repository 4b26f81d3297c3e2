#pragma once
// One run over several processes, on PyTorch's own distributed engine (c10d): a TCPStore for
// the rendezvous (rank 0 serves it, or torchrun's agent does) and a Gloo process group for the
// collectives a Shard needs (train/shard.h). c10d's store has no authentication: run it on a
// network you trust.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "train/shard.h"

namespace charnn {

struct ParallelOptions {
  int64_t rank = 0;
  int64_t world = 1;
  std::string master_addr = "127.0.0.1";  // where rank 0's store listens (torchrun's MASTER_ADDR)
  int master_port = 29500;
  // The address or host name this rank's Gloo device binds; empty: 127.0.0.1 when the master is
  // on this machine's loopback, else $GLOO_SOCKET_IFNAME's interface, else the host's name.
  std::string bind;
  std::chrono::seconds timeout{300};  // a peer silent for longer is an error, not a hang
  // torchrun's agent serves the store (TORCHELASTIC_USE_AGENT_STORE): every rank is its client,
  // under the attempt's prefix.
  bool agent_store = false;
  int64_t restart_count = 0;
};

// The torchrun convention from the environment: RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT,
// TORCHELASTIC_USE_AGENT_STORE, TORCHELASTIC_RESTART_COUNT. Absent: rank 0 of 1. Throws
// InputError naming a variable that does not parse.
ParallelOptions parallel_options_from_environment();

// Joins the process group: every rank blocks until all have. Throws InputError, in our words,
// when the master cannot be reached or a rank does not join within the timeout.
std::unique_ptr<Shard> join_process_group(const ParallelOptions& options);

}  // namespace charnn
