// charnn_bench: the C++ half of the benchmark (bench/run.sh drives it beside the Python
// reference). It reads one command per line on stdin and answers each with one JSON line on
// stdout, so the driver can alternate C++ and Python blocks inside a single invocation:
//
//   info                          threads, BLAS, build
//   threads INTRA BLAS            set the intra-op and OpenBLAS thread counts (0: leave as is)
//   sgemm M K N REPS              torch::mm of [M,K]x[K,N] float32: GFLOP/s of the best and median rep
//   step MODEL WARMUP STEPS       training steps on the lesson's batches, as fit runs them: per-step ms
//                                 (a stateful model: (8, 64) batches of the language-model data, the
//                                 hidden state carried from step to step)
//   epoch MODEL [MAX_BATCHES]     one training epoch through the loader: windows/s
//   generate MODEL N [REPS]       greedy get_next_n of N characters: chars/s (a stateful model: its
//                                 own get_next_n, the window read on top of the carried state)
//   verify MODEL+VARIANT          a proposal's loss and gradients against the lesson model's
//   denormals 0|1                 flush denormals to zero (FTZ/DAZ) or not
//
// MODEL is a registry name, its step as `charnn train` runs it: the windowed models' batch cut
// across one thread per core (train/sharded_step.h; forward and backward then overlap and are
// timed together), and the recurrent layers fused where the model has them
// (models/fused/fast_paths.h). Variants: "MODEL+plain" the plain step, PyTorch's nn layers on
// one batch (bit for bit PyTorch's; forward, backward and optimizer timed apart); "MODEL+nn" the
// windowed models' sharded step with PyTorch's layers; "MODEL+sharded" a stateful model's batch
// cut by columns (bench/sharded_lm_step.h, a proposal); "generate MODEL+recompute" the
// notebook's way of generating (the model on every window); a stateful model generates on
// PyTorch's layers as `charnn sample` does, "generate MODEL+fused" on the fused ones.
//   quit
//
// Try it by hand:  echo "step char-rnn 20 100" | build/bench/charnn_bench --text data/nietzsche.txt
#include <dlfcn.h>
#include <malloc.h>
#include <torch/torch.h>

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <chrono>
#include <iostream>
#include <memory>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "data/corpus.h"
#include "data/language_model_data.h"
#include "data/layouts.h"
#include "data/loader.h"
#include "bench/sharded_lm_step.h"
#include "data/split.h"
#include "models/fused/fast_paths.h"
#include "models/registry.h"
#include "train/adam.h"
#include "train/generate/generate.h"
#include "train/generate/stateful_generate.h"
#include "train/loss.h"
#include "train/sharded_step.h"
#include "common/threads.h"
#include "data/lesson_data.h"

namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

std::string openblas_config() {
  using Fn = char* (*)();
  auto fn = reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, "openblas_get_config"));
  return fn ? std::string(fn()) : std::string("not OpenBLAS");
}

// "MODEL+VARIANT" -> {MODEL, VARIANT}; no "+": the variant is empty.
struct NamedVariant {
  std::string base, variant;
};
NamedVariant split_variant(const std::string& name) {
  const auto plus = name.find('+');
  return {name.substr(0, plus), plus == std::string::npos ? "" : name.substr(plus + 1)};
}

// The variant's layers: fused unless it asks for PyTorch's ("+plain", "+nn").
void make_variant(charnn::LessonModel& model, const std::string& variant) {
  if (variant == "plain" || variant == "nn") return;
  if (!variant.empty() && variant != "sharded") {
    throw std::invalid_argument(fmt::format("no variant '{}' of {}", variant, model.config.model));
  }
  charnn::fused::use_fused_layers(model);
}

// One model with its optimizer and the lesson's first training batches, kept across
// commands so that the driver's later rounds need no new warm-up.
struct Subject {
  charnn::LessonModel model;
  charnn::LossKind loss;
  std::unique_ptr<torch::optim::Adam> opt;
  charnn::ModelData data;
  std::vector<charnn::Batch> batches;
  int64_t window;
  int shards = 1;
  size_t next = 0;
};

// A stateful model at the lesson's sizes with its optimizer and the first (bptt, bs) = (8, 64)
// batches of the language-model data; the hidden state carries from step to step, as fit
// carries it.
struct LmSubject {
  charnn::LessonModel model;
  std::unique_ptr<torch::optim::Adam> opt;
  std::vector<charnn::LmBatch> batches;
  std::unique_ptr<charnn::bench::ShardedLmStep> sharded;  // "MODEL+sharded"; the plain step without
  size_t next = 0;
};

class Bench {
 public:
  explicit Bench(const std::string& text_path) : corpus_(charnn::load_corpus(text_path)) {
    if (const char* device = std::getenv("CHARNN_BENCH_DEVICE"); device && *device) device_ = torch::Device(device);
  }

  json info() const {
    return {{"torch", TORCH_VERSION},
            {"intra_op_threads", at::get_num_threads()},
            {"inter_op_threads", at::get_num_interop_threads()},
            {"openblas_threads", charnn::current_threads().blas},
            {"openblas_config", openblas_config()},
            {"threads_policy", charnn::describe_threads()},
#ifdef NDEBUG
            {"build", "release"},
#else
            {"build", "debug"},
#endif
            {"parallel_info", at::get_parallel_info()}};
  }

  json sgemm(int64_t m, int64_t k, int64_t n, int reps) const {
    torch::NoGradGuard no_grad;
    auto a = torch::randn({m, k});
    auto b = torch::randn({k, n});
    auto c = torch::empty({m, n});
    for (int i = 0; i < 3; ++i) torch::mm_out(c, a, b);
    std::vector<double> t;
    for (int i = 0; i < reps; ++i) {
      const auto t0 = Clock::now();
      torch::mm_out(c, a, b);
      t.push_back(ms_since(t0));
    }
    std::sort(t.begin(), t.end());
    const double flop = 2.0 * static_cast<double>(m * k * n);
    return {{"m", m}, {"k", k}, {"n", n}, {"best_gflops", flop / t.front() / 1e6},
            {"median_gflops", flop / t[t.size() / 2] / 1e6}};
  }

  json step(const std::string& name, int warmup, int steps) {
    if (charnn::find_model(name.substr(0, name.find('+'))).is_stateful()) return lm_step(name, warmup, steps);
    auto& s = subject(name);
    if (s.shards > 1) return sharded_step(s, name, warmup, steps);
    std::vector<double> fwd, bwd, opt, total;
    for (int i = -warmup; i < steps; ++i) {
      const auto& batch = s.batches[s.next++ % s.batches.size()];
      const auto t0 = Clock::now();
      // The order of fit.cpp's train_batch.
      auto out = s.model.forward(batch.xs);
      s.opt->zero_grad();
      auto loss = charnn::lesson_loss(s.loss, out, batch.y);
      (void)loss.item<double>();
      const double t_fwd = ms_since(t0);
      loss.backward();
      const double t_bwd = ms_since(t0);
      s.opt->step();
      if (device_.is_cuda()) torch::cuda::synchronize();
      const double t_all = ms_since(t0);
      if (i < 0) continue;
      fwd.push_back(t_fwd);
      bwd.push_back(t_bwd - t_fwd);
      opt.push_back(t_all - t_bwd);
      total.push_back(t_all);
    }
    return {{"model", name}, {"fwd_ms", fwd}, {"bwd_ms", bwd}, {"opt_ms", opt}, {"step_ms", total}};
  }

  // The notebook's step for a stateful model: forward from the carried state, F.nll_loss,
  // backward, Adam.
  json lm_step(const std::string& name, int warmup, int steps) {
    auto& s = lm_subject(name);
    std::vector<double> fwd, bwd, opt, total;
    for (int i = -warmup; i < steps; ++i) {
      const auto& batch = s.batches[s.next++ % s.batches.size()];
      const auto t0 = Clock::now();
      double t_fwd = 0.0;
      if (s.sharded) {
        (void)s.sharded->loss_and_grads(batch);  // forward and backward overlap: timed as backward
      } else {
        auto out = s.model.forward(batch.x);
        s.opt->zero_grad();
        auto loss = torch::nll_loss(out, batch.y);
        (void)loss.item<double>();
        t_fwd = ms_since(t0);
        loss.backward();
      }
      const double t_bwd = ms_since(t0);
      s.opt->step();
      const double t_all = ms_since(t0);
      if (i < 0) continue;
      fwd.push_back(t_fwd);
      bwd.push_back(t_bwd - t_fwd);
      opt.push_back(t_all - t_bwd);
      total.push_back(t_all);
    }
    return {{"model", name}, {"fwd_ms", fwd}, {"bwd_ms", bwd}, {"opt_ms", opt}, {"step_ms", total}};
  }

  // fit's step with the batch cut across threads: forward and backward overlap, so only
  // their sum is timed (reported as backward, forward 0).
  json sharded_step(Subject& s, const std::string& name, int warmup, int steps) {
    charnn::ShardedStep sharded(s.shards);
    std::vector<double> fwd, bwd, opt, total;
    for (int i = -warmup; i < steps; ++i) {
      const auto& batch = s.batches[s.next++ % s.batches.size()];
      const auto t0 = Clock::now();
      (void)sharded.loss_and_grads(s.model, s.loss, batch, torch::kCPU);
      const double t_bwd = ms_since(t0);
      s.opt->step();
      const double t_all = ms_since(t0);
      if (i < 0) continue;
      fwd.push_back(0.0);
      bwd.push_back(t_bwd);
      opt.push_back(t_all - t_bwd);
      total.push_back(t_all);
    }
    return {{"model", name}, {"fwd_ms", fwd}, {"bwd_ms", bwd}, {"opt_ms", opt}, {"step_ms", total}};
  }

  json epoch(const std::string& name, int64_t max_batches) {
    auto& s = subject(name);
    auto& dl = s.data.trn_dl;
    const int64_t nb = max_batches > 0 ? std::min(max_batches, dl.num_batches()) : dl.num_batches();
    int64_t rows = 0;
    s.model.module->train();
    charnn::ShardedStep step(s.shards);
    const auto t0 = Clock::now();
    const auto order = dl.epoch_order();
    for (int64_t i = 0; i < nb; ++i) {
      const auto batch = dl.batch(order, i);
      (void)step.loss_and_grads(s.model, s.loss, batch, torch::kCPU);
      s.opt->step();
      rows += batch.size();
    }
    const double sec = ms_since(t0) / 1e3;
    return {{"model", name}, {"batches", nb}, {"windows", rows}, {"seconds", sec}, {"windows_per_s", rows / sec}};
  }

  // A variant against its base model: same parameters, same batch; the largest
  // difference in the loss and in any parameter's gradient.
  json verify(const std::string& name) {
    if (charnn::find_model(name.substr(0, name.find('+'))).is_stateful()) return verify_lm(name);
    auto& v = subject(name);
    auto& b = subject(name.substr(0, name.find('+')));
    {
      torch::NoGradGuard no_grad;
      auto pv = v.model.module->parameters();
      auto pb = b.model.module->parameters();
      for (size_t i = 0; i < pv.size(); ++i) pv[i].copy_(pb[i]);
    }
    const auto& batch = b.batches[0];
    double max_grad_diff = 0;
    std::vector<double> losses;
    for (auto* s : {&b, &v}) {
      charnn::ShardedStep step(s->shards);
      losses.push_back(step.loss_and_grads(s->model, s->loss, batch, torch::kCPU));
    }
    auto pv = v.model.module->parameters();
    auto pb = b.model.module->parameters();
    for (size_t i = 0; i < pv.size(); ++i) {
      max_grad_diff = std::max(max_grad_diff, (pv[i].grad() - pb[i].grad()).abs().max().item<double>());
    }
    return {{"model", name}, {"loss_diff", std::abs(losses[0] - losses[1])},
            {"max_grad_diff", max_grad_diff}};
  }

  // A stateful variant against its reference over five steps from the same weights, each model's
  // state carried and Adam stepping both: the largest difference in any loss and any gradient.
  // "MODEL+sharded" keeps PyTorch's layers, so its reference is the plain step; "MODEL+plain"'s is
  // the default (fused) step. In eval mode, so that the LSTM's dropout draws no masks (the
  // shards would draw them in another order).
  json verify_lm(const std::string& name) {
    auto& v = lm_subject(name);
    const std::string base = name.substr(0, name.find('+'));
    const std::string reference_name = v.sharded ? base + "+plain" : base;
    auto& b = lm_subject(reference_name);
    {
      torch::NoGradGuard no_grad;
      auto pv = v.model.module->parameters();
      auto pb = b.model.module->parameters();
      for (size_t i = 0; i < pv.size(); ++i) pv[i].copy_(pb[i]);
    }
    v.model.module->eval();
    b.model.module->eval();
    double loss_diff = 0, grad_diff = 0;
    for (size_t k = 0; k < 5; ++k) {
      const auto& batch = b.batches[k];
      const double reference = lm_loss_and_grads(b, batch);
      const double variant = v.sharded ? v.sharded->loss_and_grads(batch) : lm_loss_and_grads(v, batch);
      loss_diff = std::max(loss_diff, std::abs(reference - variant));
      auto pv = v.model.module->parameters();
      auto pb = b.model.module->parameters();
      for (size_t i = 0; i < pv.size(); ++i) {
        grad_diff = std::max(grad_diff, (pv[i].grad() - pb[i].grad()).abs().max().item<double>());
      }
      b.opt->step();
      v.opt->step();
    }
    // Both have stepped and carried their state: the next verify or timing builds them afresh.
    lm_subjects_.erase(name);
    lm_subjects_.erase(reference_name);
    return {{"model", name}, {"loss_diff", loss_diff}, {"max_grad_diff", grad_diff}};
  }

  static double lm_loss_and_grads(LmSubject& s, const charnn::LmBatch& batch) {
    auto out = s.model.forward(batch.x);
    s.opt->zero_grad();
    auto loss = torch::nll_loss(out, batch.y);
    loss.backward();
    return loss.item<double>();
  }

  // get_next_n as `charnn sample` runs it (train/generate/window_chains.h); "MODEL+recompute" runs the
  // model on every window as the notebook's get_next does, and says whether the default
  // wrote the same text.
  json generate(const std::string& name, int64_t n, int reps) {
    if (charnn::find_model(name.substr(0, name.find('+'))).is_stateful()) return generate_stateful(name, n, reps);
    const bool recompute = name.size() > 10 && name.substr(name.size() - 10) == "+recompute";
    auto& s = subject(recompute ? name.substr(0, name.size() - 10) : name);
    const std::u32string prompt = U"for thos";
    charnn::SampleOptions options;
    options.n = n;
    options.recompute_windows = recompute;
    std::vector<double> t;
    std::u32string text;
    for (int i = 0; i < reps + 1; ++i) {  // the first is warm-up
      const auto t0 = Clock::now();
      text = charnn::get_next_n(s.model, corpus_.vocab, s.window, prompt, options);
      if (i > 0) t.push_back(ms_since(t0));
    }
    s.model.module->train();
    std::sort(t.begin(), t.end());
    const double med = t[t.size() / 2];
    json out = {{"model", name}, {"chars", n}, {"median_ms", med}, {"chars_per_s", n / (med / 1e3)},
                {"text", charnn::encode_utf8(text)}};
    if (recompute) {
      options.recompute_windows = false;
      out["same_text_as_default"] =
          text == charnn::get_next_n(s.model, corpus_.vocab, s.window, prompt, options);
    }
    return out;
  }
  // The stateful models' get_next_n (train/generate/stateful_generate.h): each character runs
  // the model on the last window on top of the state the previous one left, greedy. On PyTorch's
  // layers, as `charnn sample` loads a run (the fused layers are the training step's); "MODEL+fused"
  // samples with those instead. The weights are the bench's (seed 0, untrained); the subject's
  // training state is kept.
  json generate_stateful(const std::string& name, int64_t n, int reps) {
    const auto [base, variant] = split_variant(name);
    auto& s = lm_subject(variant.empty() ? base + "+plain" : variant == "fused" ? base : name);
    charnn::SampleOptions options;
    options.n = n;
    std::vector<double> t;
    std::string text;
    for (int i = 0; i < reps + 1; ++i) {  // the first is warm-up
      const auto t0 = Clock::now();
      text = charnn::get_next_n(s.model, lm_field_, U"for thos", options);
      if (i > 0) t.push_back(ms_since(t0));
    }
    std::sort(t.begin(), t.end());
    const double med = t[t.size() / 2];
    return {{"model", name}, {"chars", n}, {"median_ms", med}, {"chars_per_s", n / (med / 1e3)}, {"text", text}};
  }


 private:
  LmSubject& lm_subject(const std::string& name) {
    auto it = lm_subjects_.find(name);
    if (it != lm_subjects_.end()) return it->second;
    if (!lm_data_.defined()) {
      // The notebook's data cell: trn = the first 7998 lines, bs 64, bptt 8, min_freq 3.
      auto md = charnn::from_text_files(charnn::split_lines(corpus_.text, charnn::kLessonTrnLines, corpus_.name),
                                        std::make_shared<charnn::NumpyRandomState>(42));
      lm_data_ = md.trn_dl.data();
      lm_vocab_size_ = md.nt;
      lm_field_ = md.field;
    }
    const auto [base, variant] = split_variant(name);
    const auto& spec = charnn::find_model(base);
    torch::manual_seed(0);
    charnn::ModelConfig config;
    config.model = base;
    config.vocab_size = lm_vocab_size_;
    config.n_hidden = spec.lesson_n_hidden;
    auto model = charnn::make_model(config);
    model.module->train();
    // The sharded proposal keeps PyTorch's layers: it is measured against the plain step.
    make_variant(model, variant == "sharded" ? "plain" : variant);
    // The notebook's optimizers: Adam at 1e-3, and for the LSTM LayerOptimizer(optim.Adam, m, 1e-2, 1e-5).
    const bool lstm = base == "char-seq-stateful-lstm";
    auto opt = std::make_unique<charnn::Adam>(
        model.module->parameters(), torch::optim::AdamOptions(lstm ? 1e-2 : 1e-3).weight_decay(lstm ? 1e-5 : 0.0));
    std::vector<charnn::LmBatch> batches;
    for (int64_t k = 0; k < 16; ++k) {
      batches.push_back({lm_data_.slice(0, 8 * k, 8 * k + 8), lm_data_.slice(0, 8 * k + 1, 8 * k + 9).reshape({-1})});
    }
    auto& s = lm_subjects_.emplace(name, LmSubject{std::move(model), std::move(opt), std::move(batches), nullptr}).first->second;
    if (variant == "sharded") {
      s.sharded = std::make_unique<charnn::bench::ShardedLmStep>(config, s.model, charnn::resolve_shards(0));
    }
    return s;
  }

  Subject& subject(const std::string& name) {
    auto it = subjects_.find(name);
    if (it != subjects_.end()) return it->second;
    const auto [base, variant] = split_variant(name);
    const auto& spec = charnn::find_model(base);
    torch::manual_seed(0);
    charnn::ModelConfig config;
    config.model = base;
    config.vocab_size = corpus_.vocab.size();
    auto model = charnn::make_model(config);
    make_variant(model, variant);
    const auto cs = charnn::default_window(spec.layout);
    auto data = charnn::lesson_data(corpus_, spec.layout, cs);
    // The lesson's optimizer: optim.Adam(m.parameters(), 1e-2), defaults otherwise.
    auto opt = std::make_unique<charnn::Adam>(model.module->parameters(), torch::optim::AdamOptions(1e-2));
    std::vector<charnn::Batch> batches;
    const auto order = data.trn_dl.epoch_order();
    for (int64_t i = 0; i < std::min<int64_t>(16, data.trn_dl.num_batches() - 1); ++i) {
      batches.push_back(data.trn_dl.batch(order, i));
    }
    const int shards = name.find("+plain") == std::string::npos ? charnn::resolve_shards(0) : 1;
    // CHARNN_BENCH_DEVICE=cuda (scripts/gpu-check.sh): the plain step on the GPU.
    if (device_.is_cuda()) {
      model.module->to(device_);
      for (auto& b : batches) b = {b.xs.to(device_), b.y.to(device_)};
    }
    return subjects_.emplace(name, Subject{std::move(model), spec.loss, std::move(opt), std::move(data),
                                           std::move(batches), cs, shards})
        .first->second;
  }

  charnn::Corpus corpus_;
  torch::Device device_ = torch::kCPU;
  std::map<std::string, Subject> subjects_;
  torch::Tensor lm_data_;  // the language-model training data, (nb, 64)
  charnn::torchtext::Field lm_field_;
  int64_t lm_vocab_size_ = 0;
  std::map<std::string, LmSubject> lm_subjects_;
};

// One command line's answer; a command that fails throws, and main answers with its error.
json answer(Bench& bench, const std::string& cmd, std::istringstream& in) {
  json out;
  if (cmd == "info") {
    out = bench.info();
  } else if (cmd == "threads") {
    charnn::ThreadSettings t{0, 0};
    in >> t.intra_op >> t.blas;
    charnn::set_threads(t);
    out = {{"threads", charnn::describe_threads()}};
  } else if (cmd == "sgemm") {
    int64_t m = 512, k = 256, n = 256;
    int reps = 50;
    in >> m >> k >> n >> reps;
    out = bench.sgemm(m, k, n, reps);
  } else if (cmd == "step") {
    std::string model;
    int warmup = 10, steps = 50;
    in >> model >> warmup >> steps;
    out = bench.step(model, warmup, steps);
  } else if (cmd == "epoch") {
    std::string model;
    int64_t max_batches = 0;
    in >> model >> max_batches;
    out = bench.epoch(model, max_batches);
  } else if (cmd == "denormals") {
    int on = 1;
    in >> on;
    out = {{"flush_denormal", at::globalContext().setFlushDenormal(on != 0) && on != 0}};
  } else if (cmd == "verify") {
    std::string model;
    in >> model;
    out = bench.verify(model);
  } else if (cmd == "generate") {
    std::string model;
    int64_t n = 400;
    int reps = 3;
    in >> model >> n >> reps;
    out = bench.generate(model, n, reps);
  } else {
    out = {{"error", fmt::format("unknown command '{}'", cmd)}};
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string text = "data/nietzsche.txt";
  bool configure = true;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--text" && i + 1 < argc) {
      text = argv[++i];
    } else if (arg == "--no-configure-threads") {
      configure = false;  // LibTorch's and OpenBLAS's own defaults, as before the fix
    } else if (arg == "--keep-freed-memory") {
      // A proposal (bench/README.md): freed buffers stay in the process for the next step instead of
      // going back to the kernel and coming back as fresh, zero-filled pages.
      mallopt(M_MMAP_THRESHOLD, 32 << 20);
      mallopt(M_TRIM_THRESHOLD, 1 << 30);
    } else {
      std::cerr << "usage: charnn_bench [--text nietzsche.txt] [--no-configure-threads] [--keep-freed-memory] < commands\n";
      return 2;
    }
  }
  if (configure) charnn::configure_threads();
  std::unique_ptr<Bench> bench;
  try {
    bench = std::make_unique<Bench>(text);
  } catch (const std::exception& e) {
    std::cout << json{{"error", e.what()}}.dump() << std::endl;
    return 1;
  }
  // Every command gets its one line, an error included, so a session typed by hand goes on after a
  // mistake; the exit status says whether any command failed.
  bool failed = false;
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string cmd;
    if (!(in >> cmd)) continue;
    if (cmd == "quit") break;
    json out;
    try {
      out = answer(*bench, cmd, in);
    } catch (const std::exception& e) {
      out = {{"error", e.what()}};
    }
    failed = failed || out.contains("error");
    std::cout << out.dump() << std::endl;
  }
  return failed ? 1 : 0;
}
