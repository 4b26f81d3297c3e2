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
#include "models/registry.h"
#include "train/io/atomic_file.h"
#include "train/io/run_lock.h"
#include "train/io/run_replacement.h"
#include "data/text_field.h"
#include "train/generate/generate.h"
#include "train/generate/stateful_generate.h"
#include "train/run/lesson.h"
#include "train/report.h"
#include "train/run/session.h"

namespace charnn::cli {

std::atomic<int> g_stop_signal{0};
std::atomic<bool> g_in_fit{false};

namespace {

namespace fs = std::filesystem;

// Creates dir if needed and proves it writable; returns whether it was created here.
bool check_writable_dir(const std::string& dir, const char* flag) {
  std::error_code ec;
  const bool existed = fs::exists(dir, ec);
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) {
    throw InputError(fmt::format("{} {}: cannot create directory ({})", flag, dir, ec.message()));
  }
  const auto probe = fs::path(dir) / ".charnn-write-test";
  if (!std::ofstream(probe)) throw InputError(fmt::format("{} {}: directory is not writable", flag, dir));
  fs::remove(probe);
  return !existed;
}

// A run that fails before writing anything leaves no empty directory behind.
void remove_if_empty(const std::string& dir) {
  std::error_code ec;
  if (fs::is_empty(dir, ec) && !ec) fs::remove(dir, ec);
}

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

int report_stop(const SessionResult& r, const std::string& out) {
  note(fmt::format("charnn: interrupted by signal {} in fit call {}, epoch {}, batch {}; checkpoint saved.\n"
                   "resume with: charnn train --resume {}\n",
                   g_stop_signal.load(), r.stopped_fit + 1, r.stopped_epoch, r.stopped_batch, out));
  return 128 + g_stop_signal.load();
}

}  // namespace

FitCall parse_fit(const std::string& spec) {
  const auto at = spec.find('@');
  const auto colon = spec.find(':');
  const auto lr_end = colon == std::string::npos ? spec.size() : colon;
  const auto malformed = [&spec] {
    return InputError(fmt::format("--fit {}: expected EPOCHS@LR, e.g. 4@1e-3, or EPOCHS@LR:cosM (CosAnneal, LR "
                                  "may be 'prev'), e.g. 15@1e-2:cos2",
                                  spec));
  };
  FitCall call{0, 0};
  try {
    size_t used_e = 0, used_lr = 0;
    if (at == std::string::npos || at > lr_end) throw std::invalid_argument("no @");
    call.epochs = std::stoll(spec.substr(0, at), &used_e);
    if (used_e != at) throw std::invalid_argument("trailing characters");
    const auto lr = spec.substr(at + 1, lr_end - at - 1);
    if (lr == "prev") {
      call.lr_from_previous = true;
    } else {
      call.lr = std::stod(lr, &used_lr);
      if (used_lr != lr.size()) throw std::invalid_argument("trailing characters");
    }
  } catch (const std::logic_error&) {
    throw malformed();
  }
  if (colon != std::string::npos) {
    const auto kind = spec.substr(colon + 1);
    if (kind.rfind("cos", 0) != 0) throw malformed();
    call.kind = FitCall::Kind::CosAnneal;
    call.cycle_mult = 1;  // fastai's default
    if (kind.size() > 3) {
      const auto digits = kind.substr(3);
      if (digits.size() > 6 || digits.find_first_not_of("0123456789") != std::string::npos) throw malformed();
      call.cycle_mult = std::stoll(digits);
      if (call.cycle_mult < 1) throw InputError(fmt::format("--fit {}: the cycle multiplier must be >= 1", spec));
    }
  }
  if (call.epochs < 1) throw InputError(fmt::format("--fit {}: epochs must be >= 1", spec));
  if (!call.lr_from_previous && (!(call.lr > 0) || !std::isfinite(call.lr))) {
    throw InputError(fmt::format("--fit {}: learning rate must be a finite number > 0", spec));
  }
  return call;
}

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

int run_train(TrainArgs a) {
  SessionOptions options;
  options.out = a.resume.empty() ? a.out : a.resume;
  options.metrics_every = a.metrics_every;
  options.checkpoint_every = a.checkpoint_every;
  options.progress = !a.no_progress;
  options.device = parse_device(a.device);
  options.stop_signal = &g_stop_signal;
  options.in_fit = &g_in_fit;
  if (a.resume.empty()) {
    // The cheap checks first, before anything touches the disk.
    const ModelSpec* spec = nullptr;
    try {
      spec = &find_model(a.run.model.model);
    } catch (const std::invalid_argument& e) {
      throw InputError(fmt::format("--model: {}", e.what()));
    }
    a.run.bs = a.bs > 0 ? a.bs : spec->is_stateful() ? 64 : 512;
    a.run.model.n_hidden = a.n_hidden > 0 ? a.n_hidden : spec->lesson_n_hidden;
    if (a.fits.empty()) a.fits.push_back("1@1e-3");
    for (const auto& f : a.fits) a.run.schedule.push_back(parse_fit(f));
    // Absolute, so that --resume finds the text from any working directory.
    a.run.text = fs::absolute(resolve_text(a.run.text)).lexically_normal().string();
    check_shards(a.run.shards);
    check_model_fits(a.run.model.n_fac, a.run.model.n_hidden, std::max<int64_t>(a.run.window, 8), a.run.bs);
    if (!a.force && holds_run(a.out)) {
      throw InputError(fmt::format("--out {}: holds a run; continue it with --resume {}, or replace it with --force",
                                   a.out, a.out));
    }
  } else if (!fs::is_directory(a.resume)) {
    throw InputError(fmt::format("--resume {}: no such run directory", a.resume));
  }
  const bool created = check_writable_dir(options.out.string(), a.resume.empty() ? "--out" : "--resume");
  SessionResult result;
  bool locked = false;
  try {
    const RunLock lock(options.out);
    locked = true;
    recover_replaced_run(options.out);
    if (a.resume.empty() && holds_run(options.out)) park_run(options.out);
    try {
      result = a.resume.empty() ? train_run(a.run, options) : resume_run(options);
    } catch (...) {
      recover_replaced_run(options.out);
      throw;
    }
    recover_replaced_run(options.out);
  } catch (...) {
    if (created && locked) {
      std::error_code ec;
      fs::remove(options.out / ".lock", ec);
      remove_if_empty(options.out.string());
    }
    throw;
  }
  if (!result.completed) return report_stop(result, options.out.string());
  note(fmt::format("charnn: run saved in {} (model.pt, config.json, epochs.csv, batches.csv, loss.png)\n",
                   options.out.string()));
  return 0;
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

// The notebook's test cells for a CharSeqStateful* run: its torchtext vocabulary, the state
// carried from window to window, and its multinomial sampling unless --greedy or --temperature
// says otherwise.
void sample_stateful(LoadedModel& loaded, const SampleArgs& a, SampleOptions options, std::u32string_view prompt) {
  const auto config_file = (std::filesystem::path(a.checkpoint) / kConfigFile).string();
  torchtext::Field TEXT(/*lower=*/true);
  TEXT.vocab = torchtext::Vocab::from_itos(loaded.config.itos, config_file + " 'itos'");
  if (!a.greedy && !options.temperature) options.temperature = 1.0;
  TextStream out(encode_utf8(std::u32string(prompt)));
  generate(loaded.model, TEXT, prompt, options, [&out](const std::string& token) { out.write(token); });
  out.finish();
}

}  // namespace

int run_sample(const SampleArgs& a) {
  auto loaded = load_run_model(a.checkpoint);
  if (a.n < 0) throw InputError(fmt::format("-n {}: must be >= 0", a.n));
  SampleOptions options;
  options.n = a.n;
  options.temperature = a.temperature;
  options.seed = a.seed;
  const auto prompt = decode_utf8(a.prompt, "prompt");
  if (loaded.model.stateful) {
    sample_stateful(loaded, a, options, prompt);
    return 0;
  }
  TextStream out(encode_utf8(prompt));
  generate(loaded.model, loaded.vocab, loaded.window, prompt, options,
           [&out](char32_t c) { out.write(encode_utf8(c)); });
  out.finish();
  return 0;
}

}  // namespace charnn::cli
