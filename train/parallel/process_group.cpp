#include "train/parallel/process_group.h"

#include <fmt/format.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <cstring>

#include "common/error.h"

namespace charnn {
namespace {

std::string first_line(const std::string& message) { return message.substr(0, message.find('\n')); }

std::string environment(const char* name, const std::string& fallback = "") {
  const char* value = std::getenv(name);
  return value && *value ? std::string(value) : fallback;
}

int64_t integer_variable(const char* name, int64_t fallback, int64_t min, int64_t max) {
  const auto text = environment(name);
  if (text.empty()) return fallback;
  int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    throw InputError(fmt::format("${}: '{}' is not an integer from {} to {}", name, text, min, max));
  }
  return value;
}

// c10d logs a failed connection on stderr (glog, before any InitGoogleLogging) besides throwing;
// the error line this rank prints says it in our words, so the log goes nowhere meanwhile.
class QuietStderr {
 public:
  QuietStderr() : saved_(::dup(STDERR_FILENO)) {
    const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null >= 0) {
      ::dup2(null, STDERR_FILENO);
      ::close(null);
    }
  }
  ~QuietStderr() {
    if (saved_ < 0) return;
    ::dup2(saved_, STDERR_FILENO);
    ::close(saved_);
  }
  QuietStderr(const QuietStderr&) = delete;
  QuietStderr& operator=(const QuietStderr&) = delete;

 private:
  int saved_;
};

bool loopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

c10::intrusive_ptr<c10d::Store> open_store(const ParallelOptions& o) {
  c10d::TCPStoreOptions store;
  store.port = static_cast<std::uint16_t>(o.master_port);
  store.isServer = o.rank == 0 && !o.agent_store;
  if (!o.agent_store) store.numWorkers = static_cast<decltype(store.numWorkers)>(o.world);
  store.waitWorkers = !o.agent_store;
  store.timeout = o.timeout;
  c10::intrusive_ptr<c10d::Store> tcp;
  try {
    const QuietStderr quiet;
    tcp = c10::make_intrusive<c10d::TCPStore>(o.master_addr, store);
  } catch (const std::exception& e) {
    throw InputError(fmt::format("rank {} of {}: {} {}:{} within {} s ({})", o.rank, o.world,
                                 store.isServer ? "not every rank joined the store at" : "cannot reach the store at",
                                 o.master_addr, o.master_port, o.timeout.count(), first_line(e.what())));
  }
  if (!o.agent_store) return tcp;
  // torchrun's workers of one attempt share its keys; a restart's do not see the last one's.
  return c10::make_intrusive<c10d::PrefixStore>(fmt::format("/worker/attempt_{}", o.restart_count), tcp);
}

std::shared_ptr<::gloo::transport::Device> gloo_device(const ParallelOptions& o) {
  if (!o.bind.empty()) return c10d::ProcessGroupGloo::createDeviceForHostname(o.bind);
  if (loopback(o.master_addr)) return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  if (const auto interface = environment("GLOO_SOCKET_IFNAME"); !interface.empty()) {
    return c10d::ProcessGroupGloo::createDeviceForInterface(interface);
  }
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

// The collectives a shard needs, on a Gloo process group. Every failure (a peer that died, one
// that stopped answering) becomes one line naming this rank.
class GlooShard : public Shard {
 public:
  GlooShard(c10::intrusive_ptr<c10d::Store> store, c10::intrusive_ptr<c10d::ProcessGroupGloo> group,
            const ParallelOptions& o)
      : store_(std::move(store)), group_(std::move(group)), rank_(o.rank), world_(o.world), timeout_(o.timeout) {}

  int64_t rank() const override { return rank_; }
  int64_t world() const override { return world_; }

  // One all-reduce per dtype: the tensors flattened into one buffer, so a step is one call.
  void sum(std::vector<torch::Tensor>& tensors) override {
    std::vector<size_t> floats, doubles;
    for (size_t i = 0; i < tensors.size(); ++i) (tensors[i].scalar_type() == torch::kFloat64 ? doubles : floats).push_back(i);
    for (const auto* group : {&floats, &doubles}) {
      if (group->empty()) continue;
      std::vector<torch::Tensor> flat_parts;
      for (const auto i : *group) flat_parts.push_back(tensors[i].reshape({-1}));
      std::vector<torch::Tensor> buffer{torch::cat(flat_parts)};
      run("gradient sum", [&] { return group_->allreduce(buffer); });
      int64_t at = 0;
      for (const auto i : *group) {
        const auto n = tensors[i].numel();
        tensors[i] = buffer[0].narrow(0, at, n).view(tensors[i].sizes()).clone();
        at += n;
      }
    }
  }

  torch::Tensor gather(const torch::Tensor& part, int64_t dim) override {
    // Gloo gathers equal sizes: every part is padded to the largest along dim, then cut back.
    std::vector<torch::Tensor> size{torch::tensor({part.size(dim)}, torch::kInt64)};
    std::vector<std::vector<torch::Tensor>> sizes{std::vector<torch::Tensor>(static_cast<size_t>(world_))};
    for (auto& s : sizes[0]) s = torch::empty({1}, torch::kInt64);
    run("gather", [&] { return group_->allgather(sizes, size); });
    int64_t largest = 0;
    for (const auto& s : sizes[0]) largest = std::max(largest, s.item<int64_t>());
    auto moved = part.movedim(dim, 0).contiguous();
    std::vector<int64_t> padded_shape = moved.sizes().vec();
    padded_shape[0] = largest;
    std::vector<torch::Tensor> mine{torch::zeros(padded_shape, moved.options())};
    mine[0].narrow(0, 0, moved.size(0)).copy_(moved);
    std::vector<std::vector<torch::Tensor>> all{std::vector<torch::Tensor>(static_cast<size_t>(world_))};
    for (auto& t : all[0]) t = torch::empty(padded_shape, moved.options());
    run("gather", [&] { return group_->allgather(all, mine); });
    std::vector<torch::Tensor> pieces;
    for (size_t r = 0; r < all[0].size(); ++r) pieces.push_back(all[0][r].narrow(0, 0, sizes[0][r].item<int64_t>()));
    return torch::cat(pieces).movedim(0, dim).contiguous();
  }

  bool any(bool mine) override { return max(mine ? 1 : 0) != 0; }

  int64_t max(int64_t mine) override {
    std::vector<torch::Tensor> value{torch::tensor({mine}, torch::kInt64)};
    c10d::AllreduceOptions options;
    options.reduceOp = c10d::ReduceOp::MAX;
    run("stop check", [&] { return group_->allreduce(value, options); });
    return value[0].item<int64_t>();
  }

  std::string broadcast(const std::string& bytes) override {
    std::vector<torch::Tensor> size{torch::tensor({static_cast<int64_t>(bytes.size())}, torch::kInt64)};
    run("broadcast", [&] { return group_->broadcast(size); });
    std::vector<torch::Tensor> data{torch::empty({size[0].item<int64_t>()}, torch::kUInt8)};
    if (rank_ == 0) std::memcpy(data[0].data_ptr(), bytes.data(), bytes.size());
    run("broadcast", [&] { return group_->broadcast(data); });
    return std::string(static_cast<const char*>(data[0].data_ptr()), static_cast<size_t>(data[0].numel()));
  }

 private:
  template <typename Collective>
  void run(const char* what, Collective&& start) {
    try {
      start()->wait();
    } catch (const std::exception& e) {
      throw InputError(fmt::format("rank {} of {}: the process group failed in its {} (a rank died, or stopped "
                                   "answering for {} s): {}",
                                   rank_, world_, what, timeout_.count(), first_line(e.what())));
    }
  }

  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group_;
  int64_t rank_, world_;
  std::chrono::seconds timeout_;
};

}  // namespace

ParallelOptions parallel_options_from_environment() {
  ParallelOptions o;
  o.world = integer_variable("WORLD_SIZE", 1, 1, 1 << 20);
  o.rank = integer_variable("RANK", 0, 0, o.world - 1);
  o.master_addr = environment("MASTER_ADDR", o.master_addr);
  o.master_port = static_cast<int>(integer_variable("MASTER_PORT", o.master_port, 1, 65535));
  o.agent_store = environment("TORCHELASTIC_USE_AGENT_STORE") == "True";
  o.restart_count = integer_variable("TORCHELASTIC_RESTART_COUNT", 0, 0, 1 << 20);
  return o;
}

std::unique_ptr<Shard> join_process_group(const ParallelOptions& o) {
  auto store = open_store(o);
  auto options = c10d::ProcessGroupGloo::Options::create(std::chrono::duration_cast<std::chrono::milliseconds>(o.timeout));
  try {
    options->devices.push_back(gloo_device(o));
  } catch (const std::exception& e) {
    throw InputError(fmt::format("rank {} of {}: cannot bind a Gloo device{} ({})", o.rank, o.world,
                                 o.bind.empty() ? "" : " to --bind " + o.bind, first_line(e.what())));
  }
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
  try {
    const QuietStderr quiet;
    group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, static_cast<int>(o.rank), static_cast<int>(o.world),
                                                        options);
  } catch (const std::exception& e) {
    throw InputError(fmt::format("rank {} of {}: the process group did not form: a rank did not join, or left "
                                 "(--dist-timeout {} s) ({})",
                                 o.rank, o.world, o.timeout.count(), first_line(e.what())));
  }
  return std::make_unique<GlooShard>(std::move(store), std::move(group), o);
}

}  // namespace charnn
