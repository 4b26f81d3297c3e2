// charnn_bench_fused: forward + backward of each recurrent layer at the lesson's stateful sizes,
// torch::nn's module against models/fused on the module's own parameters, in interleaved rounds
// (nn first on even rounds, fused first on odd ones, so a machine that gets busier or quieter
// moves both alike), with the sgemm rate measured in the same rounds as the ceiling:
//
//   rnn   nn::RNN  T=8 B=64 I=42 H=256, 1 layer
//   gru   nn::GRU  T=8 B=64 I=42 H=256, 1 layer
//   lstm  nn::LSTM T=8 B=64 I=42 H=512, 2 layers, dropout 0.5, train mode
//
// x requires grad (it is the embedding's output in the models), the state does not (the models
// detach it between batches). The loss is sum(output * w), so backward starts from a dense
// gradient. Also timed: the fused layer's matrix products alone (the same shapes, in the same
// order, without the gate kernels), and one LSTM step's element-wise work three ways (ATen's ops
// on the step's buffers, and the fused kernel in each instruction set).
//
//   charnn_bench_fused [--rounds N] [--steps M] [--only rnn,gru,lstm] [--profile nn|fused]
#include <torch/torch.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "models/fused/fused_gru.h"
#include "models/fused/fused_lstm.h"
#include "models/fused/fused_rnn.h"
#include "models/fused/gate_kernels.h"
#include "common/threads.h"

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5)];
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one, five;
  in >> one >> five;
  return one + " " + five;
}

using Forward = std::function<torch::Tensor(const torch::Tensor& x, const std::vector<torch::Tensor>& state)>;

struct Shape {
  int64_t steps, batch, input, hidden, layers, gates;
};

struct Subject {
  std::string name;
  Shape shape;
  std::shared_ptr<torch::nn::Module> module;
  Forward nn, fused;
  torch::Tensor x, loss_weight;
  std::vector<torch::Tensor> state;
  std::map<std::string, std::vector<double>> ms;  // "nn fwd", "fused bwd", ...
};

// Matrix FLOPs of forward + backward per step: the input and hidden products, dx, dW_ih, dW_hh
// and the hidden-state gradient of steps T-1..1 (the initial state needs none). The same count
// for both sides: they differ in how the products are cut, not in what they compute.
double step_flops(const Shape& s) {
  const double tb = static_cast<double>(s.steps * s.batch), g = static_cast<double>(s.gates * s.hidden);
  double flops = 0;
  for (int64_t l = 0; l < s.layers; ++l) {
    const double in = static_cast<double>(l == 0 ? s.input : s.hidden), h = static_cast<double>(s.hidden);
    flops += 2 * tb * g * (in + h);                                                     // forward
    flops += 2 * tb * g * in * 2 + 2 * tb * g * h;                                      // dx, dW_ih, dW_hh
    flops += 2 * static_cast<double>((s.steps - 1) * s.batch) * g * h;                  // dh_{t-1}
  }
  return flops;
}

Subject make(const std::string& name, const Shape& shape, std::shared_ptr<torch::nn::Module> module, Forward nn,
             Forward fused, int64_t states) {
  Subject s;
  s.name = name;
  s.shape = shape;
  s.module = std::move(module);
  s.nn = std::move(nn);
  s.fused = std::move(fused);
  s.x = torch::randn({shape.steps, shape.batch, shape.input}).requires_grad_();
  s.loss_weight = torch::randn({shape.steps, shape.batch, shape.hidden});
  for (int64_t k = 0; k < states; ++k) s.state.push_back(torch::zeros({shape.layers, shape.batch, shape.hidden}));
  return s;
}

Subject make_subject(const std::string& name) {
  torch::manual_seed(0);
  using State = std::vector<torch::Tensor>;
  if (name == "rnn") {
    auto m = torch::nn::RNN(torch::nn::RNNOptions(42, 256)).ptr();
    return make(
        name, {8, 64, 42, 256, 1, 1}, m,
        [m](const torch::Tensor& x, const State& h) { return std::get<0>(m->forward(x, h[0])); },
        [m](const torch::Tensor& x, const State& h) { return std::get<0>(charnn::fused::rnn_tanh(*m, x, h[0])); }, 1);
  }
  if (name == "gru") {
    auto m = torch::nn::GRU(torch::nn::GRUOptions(42, 256)).ptr();
    return make(
        name, {8, 64, 42, 256, 1, 3}, m,
        [m](const torch::Tensor& x, const State& h) { return std::get<0>(m->forward(x, h[0])); },
        [m](const torch::Tensor& x, const State& h) { return std::get<0>(charnn::fused::gru(*m, x, h[0])); }, 1);
  }
  TORCH_CHECK(name == "lstm", "charnn_bench_fused: unknown layer ", name, " (rnn, gru, lstm)");
  auto m = torch::nn::LSTM(torch::nn::LSTMOptions(42, 512).num_layers(2).dropout(0.5)).ptr();
  m->train();
  return make(
      name, {8, 64, 42, 512, 2, 4}, m,
      [m](const torch::Tensor& x, const State& h) { return std::get<0>(m->forward(x, std::make_tuple(h[0], h[1]))); },
      [m](const torch::Tensor& x, const State& h) { return std::get<0>(charnn::fused::lstm(*m, x, {h[0], h[1]})); },
      2);
}

void time_step(Subject& s, const std::string& side) {
  s.module->zero_grad();
  s.x.mutable_grad() = torch::Tensor();
  const auto t0 = Clock::now();
  const auto out = side == "nn" ? s.nn(s.x, s.state) : s.fused(s.x, s.state);
  const auto loss = (out * s.loss_weight).sum();
  const double fwd = ms_since(t0);
  const auto t1 = Clock::now();
  loss.backward();
  const double bwd = ms_since(t1);
  s.ms[side + " fwd"].push_back(fwd);
  s.ms[side + " bwd"].push_back(bwd);
  s.ms[side].push_back(fwd + bwd);
}

// The fused layer's products alone, shapes and order as models/fused runs them: how much of its
// time the BLAS takes.
double products_only_ms(const Shape& s) {
  torch::NoGradGuard no_grad;
  const int64_t t_steps = s.steps, b = s.batch, h = s.hidden, g = s.gates * s.hidden;
  struct Layer {
    torch::Tensor x, w_ih, w_hh, bias, out, dgates, dh;
  };
  std::vector<Layer> layers;
  for (int64_t l = 0; l < s.layers; ++l) {
    const auto in = l == 0 ? s.input : h;
    layers.push_back({torch::randn({t_steps * b, in}), torch::randn({g, in}), torch::randn({g, h}), torch::randn({g}),
                      torch::randn({t_steps, b, h}), torch::randn({t_steps, b, g}), torch::empty({b, h})});
  }
  const auto t0 = Clock::now();
  for (const auto& p : layers) {
    auto gates = torch::addmm(p.bias, p.x, p.w_ih.t()).view({t_steps, b, g});
    for (int64_t t = 0; t < t_steps; ++t) gates[t].addmm_(p.out[t], p.w_hh.t());
  }
  for (auto& p : layers) {
    for (int64_t t = t_steps - 1; t > 0; --t) torch::mm_out(p.dh, p.dgates[t], p.w_hh);
    const auto dg = p.dgates.view({-1, g});
    torch::mm(dg, p.w_ih);     // dx
    torch::mm(dg.t(), p.x);    // dW_ih
    torch::mm(p.dgates[0].t(), p.out[0])
        .addmm_(p.dgates.slice(0, 1).reshape({-1, g}).t(), p.out.slice(0, 0, t_steps - 1).reshape({-1, h}));  // dW_hh
    dg.sum(0);                 // the biases
  }
  return ms_since(t0);
}

double sgemm_gflops() {
  torch::NoGradGuard no_grad;
  const auto a = torch::randn({512, 512}), b = torch::randn({512, 2048});
  auto c = torch::empty({512, 2048});
  torch::mm_out(c, a, b);
  double best = 1e30;
  for (int i = 0; i < 10; ++i) {
    const auto t0 = Clock::now();
    torch::mm_out(c, a, b);
    best = std::min(best, ms_since(t0));
  }
  return 2.0 * 512 * 512 * 2048 / best / 1e6;
}

// One LSTM step's element-wise work at B=64, H=512, forward and backward, as ATen's own LSTM cell
// does it (its ops on the step's [B, 4H] gates and [B, H] states) and as the fused kernel does.
namespace gate_bench {

struct Buffers {
  torch::Tensor gates, c_prev, c, tanh_c, h, grad_out, dh, dc, dgates;
};

Buffers make_buffers() {
  const int64_t b = 64, h = 512;
  return {torch::randn({b, 4 * h}), torch::randn({b, h}), torch::empty({b, h}), torch::empty({b, h}),
          torch::empty({b, h}),     torch::randn({b, h}), torch::randn({b, h}), torch::randn({b, h}),
          torch::empty({b, 4 * h})};
}

void aten_forward(Buffers& s) {
  const auto ch = s.gates.chunk(4, 1);
  const auto i = ch[0].sigmoid_(), f = ch[1].sigmoid_(), g = ch[2].tanh_(), o = ch[3].sigmoid_();
  torch::mul_out(s.c, f, s.c_prev).addcmul_(i, g);
  torch::tanh_out(s.tanh_c, s.c);
  torch::mul_out(s.h, o, s.tanh_c);
}

void aten_backward(Buffers& s) {
  const auto ch = s.gates.chunk(4, 1);
  const auto &i = ch[0], &f = ch[1], &g = ch[2], &o = ch[3];
  const auto d = s.grad_out + s.dh;
  const auto dcx = at::tanh_backward(d * o, s.tanh_c) + s.dc;
  torch::cat_out(s.dgates, {at::sigmoid_backward(dcx * g, i), at::sigmoid_backward(dcx * s.c_prev, f),
                            at::tanh_backward(dcx * i, g), at::sigmoid_backward(d * s.tanh_c, o)},
                 1);
  torch::mul_out(s.dc, dcx, f);
}

void fused_forward(Buffers& s) {
  using charnn::fused::detail::data;
  charnn::fused::kernels::lstm_forward({64, 512, data(s.gates), data(s.c_prev), data(s.c), data(s.tanh_c), data(s.h)});
}

void fused_backward(Buffers& s) {
  using charnn::fused::detail::data;
  charnn::fused::kernels::lstm_backward({64, 512, data(s.grad_out), data(s.dh), data(s.gates), data(s.c_prev),
                                         data(s.tanh_c), data(s.dc), data(s.dgates)});
}

// Median microseconds of each variant's step over interleaved rounds.
void run(int rounds) {
  torch::NoGradGuard no_grad;
  namespace k = charnn::fused::kernels;
  const auto isa_before = k::isa();
  struct Variant {
    std::string name;
    std::function<void(Buffers&)> step;
    k::Isa isa;
  };
  std::vector<Variant> variants = {{"ATen ops, forward", aten_forward, isa_before},
                                   {"ATen ops, backward", aten_backward, isa_before}};
  for (const auto isa : {k::Isa::baseline, k::Isa::avx2, k::Isa::avx512}) {
    if (!k::set_isa(isa)) continue;
    variants.push_back({std::string("fused kernel ") + k::to_string(isa) + ", forward", fused_forward, isa});
    variants.push_back({std::string("fused kernel ") + k::to_string(isa) + ", backward", fused_backward, isa});
  }
  std::map<std::string, std::vector<double>> us;
  auto buffers = make_buffers();
  for (int r = 0; r < rounds; ++r) {
    for (const auto& v : variants) {
      k::set_isa(v.isa);
      for (int rep = 0; rep < 50; ++rep) {
        const auto t0 = Clock::now();
        v.step(buffers);
        us[v.name].push_back(1e3 * ms_since(t0));
      }
    }
  }
  k::set_isa(isa_before);
  fmt::print("\nOne LSTM step's element-wise work, B=64 H=512 (us, median [p10-p90]):\n");
  for (const auto& v : variants) {
    const auto& t = us[v.name];
    fmt::print("  {:<36} {:7.1f} [{:.1f}-{:.1f}]\n", v.name, quantile(t, 0.5), quantile(t, 0.1), quantile(t, 0.9));
  }
}

}  // namespace gate_bench

struct Options {
  int rounds = 7, steps = 10;
  std::vector<std::string> layers = {"rnn", "gru", "lstm"};
  std::vector<const char*> sides = {"nn", "fused"};
};

std::vector<std::string> split_commas(const std::string& list) {
  std::vector<std::string> items;
  for (size_t at = 0; at != std::string::npos;) {
    const auto comma = list.find(',', at);
    items.push_back(list.substr(at, comma == std::string::npos ? comma : comma - at));
    at = comma == std::string::npos ? comma : comma + 1;
  }
  return items;
}

bool parse(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--rounds" && has_value) {
      o.rounds = std::atoi(argv[++i]);
    } else if (arg == "--steps" && has_value) {
      o.steps = std::atoi(argv[++i]);
    } else if (arg == "--only" && has_value) {
      o.layers = split_commas(argv[++i]);
    } else if (arg == "--profile" && has_value) {
      o.sides = {std::string(argv[++i]) == "nn" ? "nn" : "fused"};  // one side alone, for perf record
    } else {
      fmt::print(stderr,
                 "usage: charnn_bench_fused [--rounds N] [--steps M] [--only rnn,gru,lstm] [--profile nn|fused]\n");
      return false;
    }
  }
  return o.rounds > 0 && o.steps > 0;
}

// Rounds of `steps` steps per side and subject, the side that goes first alternating, with the
// sgemm rate and the products-alone time measured in each round.
struct Rounds {
  std::vector<double> sgemm;
  std::map<std::string, std::vector<double>> products;
};

Rounds run_rounds(std::vector<Subject>& subjects, const Options& o) {
  for (auto& s : subjects) {  // warm-up: first-call costs, the allocator's pools
    for (int w = 0; w < 3; ++w) {
      for (const auto* side : o.sides) time_step(s, side);
    }
    s.ms.clear();
  }
  Rounds r;
  for (int round = 0; round < o.rounds; ++round) {
    r.sgemm.push_back(sgemm_gflops());
    auto sides = o.sides;
    if (round % 2 == 1) std::reverse(sides.begin(), sides.end());
    for (auto& s : subjects) {
      for (const auto* side : sides) {
        for (int k = 0; k < o.steps; ++k) time_step(s, side);
      }
      r.products[s.name].push_back(products_only_ms(s.shape));
    }
  }
  return r;
}

void print_table(const std::vector<Subject>& subjects, const Rounds& r) {
  const double ceiling = quantile(r.sgemm, 1.0);
  fmt::print("sgemm [512,512]x[512,2048]: best {:.0f} GFLOP/s, median {:.0f} over the rounds; "
             "load average {} at the end\n",
             ceiling, quantile(r.sgemm, 0.5), load_average());
  fmt::print("{:<5} {:>21} {:>21} {:>8} {:>13} {:>13} {:>6} {:>13} {:>10}\n", "layer", "nn ms", "fused ms", "fused/nn",
             "fwd nn|fused", "bwd nn|fused", "MFLOP", "ceil nn|fused", "BLAS-only");
  for (const auto& s : subjects) {
    const auto med = [&](const std::string& k) { return quantile(s.ms.at(k), 0.5); };
    const auto range = [&](const std::string& k) {
      return fmt::format("{:.2f} [{:.2f}-{:.2f}]", med(k), quantile(s.ms.at(k), 0.1), quantile(s.ms.at(k), 0.9));
    };
    const double mflop = step_flops(s.shape) / 1e6;
    const auto share = [&](double ms) { return 100.0 * mflop / ms / ceiling; };  // MFLOP/ms = GFLOP/s
    fmt::print("{:<5} {:>21} {:>21} {:>8.2f} {:>13} {:>13} {:>6.0f} {:>13} {:>7.2f} ms\n", s.name, range("nn"),
               range("fused"), med("fused") / med("nn"), fmt::format("{:.2f}|{:.2f}", med("nn fwd"), med("fused fwd")),
               fmt::format("{:.2f}|{:.2f}", med("nn bwd"), med("fused bwd")), mflop,
               fmt::format("{:.0f}%|{:.0f}%", share(med("nn")), share(med("fused"))),
               quantile(r.products.at(s.name), 0.5));
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parse(argc, argv, o)) return 2;
  charnn::configure_threads();
  fmt::print("LibTorch {}, {}, gate kernels {}, load average {} at the start\n", TORCH_VERSION,
             charnn::describe_threads(), charnn::fused::kernels::to_string(charnn::fused::kernels::isa()),
             load_average());
  std::vector<Subject> subjects;
  for (const auto& n : o.layers) subjects.push_back(make_subject(n));
  const auto rounds = run_rounds(subjects, o);
  if (o.sides.size() == 1) {
    for (const auto& s : subjects) {
      fmt::print("{} {}: median {:.2f} ms\n", s.name, o.sides[0], quantile(s.ms.at(o.sides[0]), 0.5));
    }
    return 0;
  }
  print_table(subjects, rounds);
  gate_bench::run(o.rounds);
  return 0;
}
