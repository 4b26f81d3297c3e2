#include "app/commands.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/console.h"
#include "common/limits.h"
#include "common/test_hold.h"
#include "models/registry.h"
#include "train/io/atomic_file.h"
#include "train/io/run_files.h"
#include "train/io/train_state.h"
#include "data/corpus.h"
#include "train/families/family.h"
#include "train/run/lesson.h"
#include "train/report.h"
#include "app/parallel.h"
#include "train/run/run_directory.h"
#include "train/run/session.h"

namespace charnn::cli {

std::atomic<int> g_stop_signal{0};
std::atomic<bool> g_in_fit{false};

namespace {

namespace fs = std::filesystem;

torch::Device parse_device(const std::string& name) {
  if (name == "auto") return torch::cuda::is_available() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
  try {
    torch::Device device(name);
    if (device.is_cuda() && !torch::cuda::is_available()) {
      throw InputError(fmt::format("--device {}: CUDA is not available here", name));
    }
    if (device.is_cuda() && device.has_index() && device.index() >= static_cast<int>(torch::cuda::device_count())) {
      throw InputError(fmt::format("--device {}: there are {} CUDA device(s) here", name, torch::cuda::device_count()));
    }
    if (!device.is_cpu() && !device.is_cuda()) {
      throw InputError(fmt::format("--device {}: not a device charnn trains on (use cpu, cuda, cuda:N or auto)", name));
    }
    return device;
  } catch (const c10::Error&) {
    throw InputError(fmt::format("--device {}: not a device (use cpu, cuda, cuda:N or auto)", name));
  }
}

}  // namespace

// The corpus that comes with charnn is share/charnn/nietzsche.txt beside its bin/ directory
// (in a build directory, a link to the source tree's data/), so an installed charnn needs
// no source tree. The link is resolved: config.json names the file itself.
std::string resolve_text(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("CHARNN_TEXT"); env && *env) return env;
  std::error_code ec;
  const auto exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const auto beside = fs::canonical(exe.parent_path().parent_path() / "share" / "charnn" / "nietzsche.txt", ec);
    if (!ec) return beside.string();
  }
  return "data/nietzsche.txt";
}

// What the run left in its directory, for the last line: the files there, and nothing else.
std::string saved_files(const fs::path& dir) {
  std::string list;
  for (const auto& name : run_files(dir)) {
    if (name != kPendingModelFile) list += (list.empty() ? "" : ", ") + name;
  }
  return list;
}

namespace {

// The cheap checks of a fresh run's flags, before anything touches the disk or the network.
void resolve_fresh_run(TrainArgs& a) {
  const ModelSpec* spec = nullptr;
  try {
    spec = &find_model(a.run.model.model);
  } catch (const std::invalid_argument& e) {
    throw InputError(fmt::format("--model: {}", e.what()));
  }
  if (a.run.trn_lines > 0 && !family_of(*spec).splits_text_by_lines()) {
    throw InputError(fmt::format("--trn-lines {}: {} trains on windows of the whole text; only the stateful "
                                 "models split the text by lines",
                                 a.run.trn_lines, spec->name));
  }
  a.run.bs = a.bs > 0 ? a.bs : spec->lesson_bs;
  a.run.model.n_hidden = a.n_hidden > 0 ? a.n_hidden : spec->lesson_n_hidden;
  if (a.fits.empty()) a.fits.push_back("1@1e-3");
  for (const auto& f : a.fits) a.run.schedule.push_back(parse_fit(f));
  // Absolute, so that --resume finds the text from any working directory.
  a.run.text = fs::absolute(resolve_text(a.run.text)).lexically_normal().string();
  check_shards(a.run.shards);
}

// How the run ended, as the last line says it; the exit status.
int report_end(const SessionResult& result, const fs::path& out, int stop_signal) {
  if (result.already_finished) {
    note(fmt::format("charnn: {} holds a finished run (every fit call of its schedule is done); nothing to resume\n",
                     out.string()));
    return 0;
  }
  if (!result.completed) {
    note(fmt::format("charnn: interrupted by signal {} in fit call {}, epoch {}, batch {}; checkpoint saved.\n"
                     "resume with: charnn train --resume {}\n",
                     stop_signal, result.stopped_fit + 1, result.stopped_epoch, result.stopped_batch, out.string()));
    return 128 + stop_signal;
  }
  if (stop_signal != 0) {
    // The signal came after the last batch (in the last validation, say): nothing was left to stop.
    note(fmt::format("charnn: signal {} arrived after the last batch; the run is complete in {} ({})\n", stop_signal,
                     out.string(), saved_files(out)));
    return 128 + stop_signal;
  }
  note(fmt::format("charnn: run saved in {} ({})\n", out.string(), saved_files(out)));
  return 0;
}

// The run in its directory, as rank 0 (or the single process) writes it.
SessionResult train_in_run_directory(TrainArgs& a, const SessionOptions& options) {
  if (!a.resume.empty() && !fs::is_directory(a.resume)) {
    throw InputError(fmt::format("--resume {}: no such run directory", a.resume));
  }
  RunDirectory dir(options.out, a.resume.empty() ? "--out" : "--resume");
  test_hold("start");
  if (a.resume.empty()) {
    if (dir.holds_run() && !a.force) {
      throw InputError(fmt::format("--out {}: holds a run; continue it with --resume {}, or replace it with --force",
                                   a.out, a.out));
    }
    dir.replace();
    dir.start_fresh();
  }
  if (options.shard && !a.resume.empty()) send_run_files(*options.shard, options.out);
  const auto result = a.resume.empty() ? train_run(a.run, options) : resume_run(options);
  dir.commit();
  return result;
}

}  // namespace

int run_train(TrainArgs a) {
  SessionOptions options;
  options.out = a.resume.empty() ? a.out : a.resume;
  options.metrics_every = a.metrics_every;
  options.checkpoint_every = a.checkpoint_every;
  options.progress = !a.no_progress;
  options.device = parse_device(a.device);
  options.plain = a.plain;
  options.stop_signal = &g_stop_signal;
  options.in_fit = &g_in_fit;
  if (a.resume.empty()) resolve_fresh_run(a);
  const auto parallel = parallel_options(a.parallel);
  if (parallel.world == 1) {
    const auto result = train_in_run_directory(a, options);
    return report_end(result, options.out, g_stop_signal.load());  // the signal is read once the run has ended
  }
  // One of several processes: rank 0 writes the run directory; the others train beside it in
  // a private one, from the files rank 0 sends them when the run resumes.
  if (!options.device.is_cpu()) {
    throw InputError(fmt::format("--device {} over {} processes: this charnn joins processes through Gloo on the "
                                 "CPU; NCCL for CUDA devices is not built in",
                                 a.device, parallel.world));
  }
  const auto shard = join_process_group(parallel);
  options.shard = shard.get();
  options.checkpoint_every = agreed_checkpoint_every(*shard, options.checkpoint_every);
  SessionResult result;
  if (shard->rank() == 0) {
    result = train_in_run_directory(a, options);
  } else {
    const PrivateRunDirectory own(shard->rank());
    options.out = own.path();
    options.quiet = true;
    options.progress = false;
    options.metrics_every = 0;
    if (!a.resume.empty()) receive_run_files(*shard, own.path());
    result = a.resume.empty() ? train_run(a.run, options) : resume_run(options);
  }
  // Every rank stopped at the same boundary; they all say the signal that stopped them.
  const int stop_signal = static_cast<int>(shard->max(g_stop_signal.load()));
  if (shard->rank() != 0) return result.completed && stop_signal == 0 ? 0 : 128 + stop_signal;
  return report_end(result, options.out, stop_signal);
}

namespace {

// Text written as it is generated, so a long -n shows progress, holds no memory and stops with
// a pipe's reader (`| head`); everything that can be refused is checked before the first byte.
class TextStream {
 public:
  // The prompt waits with the first generated text, so a refused prompt writes nothing.
  explicit TextStream(std::string prompt) : pending_(std::move(prompt)) {}
  void write(std::string_view text) {
    pending_ += text;
    if (text.find('\n') != std::string_view::npos || pending_.size() >= 256) flush();
  }
  void finish() {
    pending_ += '\n';
    flush();
    if (std::ferror(stdout)) throw InputError(fmt::format("stdout: {}", std::strerror(errno)));
  }

 private:
  void flush() {
    std::fwrite(pending_.data(), 1, pending_.size(), stdout);
    std::fflush(stdout);
    pending_.clear();
  }
  std::string pending_;
};

}  // namespace

int run_sample(const SampleArgs& a) {
  // Until a --force replacement has a checkpoint, the run in the directory is the parked one.
  auto loaded = load_run_model(current_run(a.checkpoint));
  const auto& family = family_of(find_model(loaded.config.model.model));
  SampleOptions options;
  options.n = a.n;
  options.temperature = a.temperature;
  options.seed = a.seed;
  if (!a.greedy && !options.temperature && family.samples_by_default()) options.temperature = 1.0;
  const auto prompt = decode_utf8(a.prompt, "prompt");
  TextStream out(encode_utf8(prompt));
  const auto vocab_name = fmt::format("{} 'itos'", (current_run(a.checkpoint) / kConfigFile).string());
  family.generate(loaded.model, loaded.config, vocab_name, prompt, options,
                  [&out](std::string_view token) { out.write(token); });
  out.finish();
  return 0;
}

}  // namespace charnn::cli
