// The fused recurrent layers (models/fused/) against torch::nn's RNN, GRU and LSTM on the same
// parameters: outputs, final states and the gradients of x, the initial states and every weight
// and bias, in eval mode; in train mode the same dropout masks from the same seed; and a 50-step
// Adam trajectory. "Relative" here is per tensor: max_i |fused_i - nn_i| / max_i |nn_i|, the
// difference measured against the reference's largest magnitude (an element-wise ratio would
// divide by values that are zero up to rounding).
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "models/fused/fused_gru.h"
#include "models/fused/fused_lstm.h"
#include "models/fused/fused_rnn.h"
#include "models/fused/gate_kernels.h"

using namespace charnn;
using Catch::Matchers::Contains;

namespace {

constexpr double kLayerTolerance = 1e-5;
constexpr double kTrajectoryTolerance = 1e-4;

double relative_diff(const torch::Tensor& fused, const torch::Tensor& reference) {
  REQUIRE(fused.sizes() == reference.sizes());
  const auto ref = reference.to(torch::kFloat64);
  const double diff = (fused.to(torch::kFloat64) - ref).abs().max().item<double>();
  const double scale = ref.abs().max().item<double>();
  return scale > 0 ? diff / scale : diff;
}

enum class Cell { rnn, gru, lstm };

const char* name_of(Cell cell) { return cell == Cell::rnn ? "rnn" : cell == Cell::gru ? "gru" : "lstm"; }

struct Shape {
  int64_t steps, batch, input, hidden, layers;
};

std::string describe(Cell cell, const Shape& s) {
  return fmt::format("{} T={} B={} I={} H={} L={}", name_of(cell), s.steps, s.batch, s.input, s.hidden, s.layers);
}

// One module seen two ways: its own forward and the fused one, both returning
// {output, h_n} or {output, h_n, c_n} from x and the initial state(s).
using Forward =
    std::function<std::vector<torch::Tensor>(const torch::Tensor& x, const std::vector<torch::Tensor>& state)>;

struct Layer {
  std::shared_ptr<torch::nn::Module> module;
  Forward nn, fused;
  int64_t states;
};

Layer make_layer(Cell cell, const Shape& s, double dropout) {
  switch (cell) {
    case Cell::rnn: {
      const auto m =
          torch::nn::RNN(torch::nn::RNNOptions(s.input, s.hidden).num_layers(s.layers).dropout(dropout)).ptr();
      return {m,
              [m](const torch::Tensor& x, const std::vector<torch::Tensor>& h) {
                auto [out, h_n] = m->forward(x, h[0]);
                return std::vector<torch::Tensor>{out, h_n};
              },
              [m](const torch::Tensor& x, const std::vector<torch::Tensor>& h) {
                auto [out, h_n] = fused::rnn_tanh(*m, x, h[0]);
                return std::vector<torch::Tensor>{out, h_n};
              },
              1};
    }
    case Cell::gru: {
      const auto m =
          torch::nn::GRU(torch::nn::GRUOptions(s.input, s.hidden).num_layers(s.layers).dropout(dropout)).ptr();
      return {m,
              [m](const torch::Tensor& x, const std::vector<torch::Tensor>& h) {
                auto [out, h_n] = m->forward(x, h[0]);
                return std::vector<torch::Tensor>{out, h_n};
              },
              [m](const torch::Tensor& x, const std::vector<torch::Tensor>& h) {
                auto [out, h_n] = fused::gru(*m, x, h[0]);
                return std::vector<torch::Tensor>{out, h_n};
              },
              1};
    }
    case Cell::lstm: {
      const auto m =
          torch::nn::LSTM(torch::nn::LSTMOptions(s.input, s.hidden).num_layers(s.layers).dropout(dropout)).ptr();
      return {m,
              [m](const torch::Tensor& x, const std::vector<torch::Tensor>& h) {
                auto [out, hc] = m->forward(x, std::make_tuple(h[0], h[1]));
                return std::vector<torch::Tensor>{out, std::get<0>(hc), std::get<1>(hc)};
              },
              [m](const torch::Tensor& x, const std::vector<torch::Tensor>& h) {
                auto [out, hc] = fused::lstm(*m, x, {h[0], h[1]});
                return std::vector<torch::Tensor>{out, std::get<0>(hc), std::get<1>(hc)};
              },
              2};
    }
  }
  FAIL("unknown cell");
  return {};
}

// What one forward and backward gives: the outputs, then the gradients of x, of each initial
// state (when they require one) and of each parameter in the module's order, each named.
struct Run {
  std::vector<std::pair<std::string, torch::Tensor>> outputs, grads;
};

struct Inputs {
  torch::Tensor x;
  std::vector<torch::Tensor> states;
  std::vector<torch::Tensor> loss_weights;  // one per output: the loss is sum(output * weight)
  bool states_need_grad = true;
  bool x_needs_grad = true;
};

Inputs make_inputs(const Layer& layer, const Shape& s, bool states_need_grad) {
  Inputs in;
  in.x = torch::randn({s.steps, s.batch, s.input});
  for (int64_t k = 0; k < layer.states; ++k) in.states.push_back(torch::randn({s.layers, s.batch, s.hidden}));
  in.loss_weights.push_back(torch::randn({s.steps, s.batch, s.hidden}));
  for (int64_t k = 0; k < layer.states; ++k) in.loss_weights.push_back(torch::randn({s.layers, s.batch, s.hidden}));
  in.states_need_grad = states_need_grad;
  return in;
}

Run run(const Layer& layer, const Forward& forward, const Inputs& in) {
  const auto x = in.x.clone().requires_grad_(in.x_needs_grad);
  std::vector<torch::Tensor> states;
  for (const auto& s : in.states) states.push_back(s.clone().requires_grad_(in.states_need_grad));
  layer.module->zero_grad();
  const auto outs = forward(x, states);
  auto loss = torch::zeros({});
  for (size_t i = 0; i < outs.size(); ++i) loss = loss + (outs[i] * in.loss_weights[i]).sum();
  loss.backward();
  const char* output_names[] = {"output", "h_n", "c_n"};
  const char* state_names[] = {"h0", "c0"};
  Run r;
  for (size_t i = 0; i < outs.size(); ++i) r.outputs.emplace_back(output_names[i], outs[i].detach().clone());
  if (in.x_needs_grad) r.grads.emplace_back("x", x.grad().clone());
  if (in.states_need_grad) {
    for (size_t i = 0; i < states.size(); ++i) r.grads.emplace_back(state_names[i], states[i].grad().clone());
  }
  for (const auto& p : layer.module->named_parameters()) r.grads.emplace_back(p.key(), p.value().grad().clone());
  return r;
}

// The worst relative difference seen per cell and kind (output/state, gradient), printed at the
// end of a test case so that the figures are on record.
struct Worst {
  std::map<std::string, double> by_kind;
  void note(const std::string& kind, double d) { by_kind[kind] = std::max(by_kind[kind], d); }
  void print(const std::string& title) const {
    for (const auto& [kind, d] : by_kind) {
      fmt::print("fused {:<28} {:<26} worst relative diff {:.3g}\n", title, kind, d);
    }
  }
};

// Runs nn and fused on the same inputs and holds every output and gradient to `tolerance`.
void compare(Cell cell, const Shape& s, const Layer& layer, const Inputs& in, Worst& worst, double tolerance,
             const std::function<void()>& before_each = {}) {
  if (before_each) before_each();
  const auto ref = run(layer, layer.nn, in);
  if (before_each) before_each();
  const auto got = run(layer, layer.fused, in);
  REQUIRE(ref.grads.size() == got.grads.size());
  for (size_t i = 0; i < ref.outputs.size(); ++i) {
    const double d = relative_diff(got.outputs[i].second, ref.outputs[i].second);
    INFO(describe(cell, s) << " " << ref.outputs[i].first << ": relative diff " << d);
    CHECK(d <= tolerance);
    worst.note(std::string(name_of(cell)) + " outputs", d);
  }
  for (size_t i = 0; i < ref.grads.size(); ++i) {
    const double d = relative_diff(got.grads[i].second, ref.grads[i].second);
    INFO(describe(cell, s) << " grad " << ref.grads[i].first << ": relative diff " << d);
    CHECK(d <= tolerance);
    worst.note(std::string(name_of(cell)) + " gradients", d);
  }
}

// Every instruction set this CPU runs the gate kernels with; the choice in force is put back.
void for_each_isa(const std::function<void(fused::kernels::Isa)>& body) {
  const auto before = fused::kernels::isa();
  for (const auto isa : {fused::kernels::Isa::baseline, fused::kernels::Isa::avx2, fused::kernels::Isa::avx512}) {
    if (!fused::kernels::set_isa(isa)) continue;
    INFO("gate kernels: " << fused::kernels::to_string(isa));
    body(isa);
  }
  fused::kernels::set_isa(before);
}

Shape lesson_shape(Cell cell, int64_t batch, int64_t layers) {
  return {8, batch, 42, cell == Cell::lstm ? 512 : 256, layers};
}

}  // namespace

TEST_CASE("fused layers equal torch::nn at the lesson's sizes, eval mode", "[fused]") {
  for_each_isa([](fused::kernels::Isa isa) {
    Worst worst;
    for (const auto cell : {Cell::rnn, Cell::gru, Cell::lstm}) {
      for (const int64_t batch : {64, 512}) {
        for (const int64_t layers : {1, 2}) {
          torch::manual_seed(10 * batch + layers);
          const auto s = lesson_shape(cell, batch, layers);
          auto layer = make_layer(cell, s, layers > 1 ? 0.5 : 0.0);
          layer.module->eval();  // dropout set but off: eval mode draws no masks
          // As the stateful models use them (a detached state) and with the state's gradient.
          for (const bool states_need_grad : {false, true}) {
            compare(cell, s, layer, make_inputs(layer, s, states_need_grad), worst, kLayerTolerance);
          }
        }
      }
    }
    worst.print(std::string("lesson sizes, ") + fused::kernels::to_string(isa));
  });
}

TEST_CASE("fused layers equal torch::nn on odd sizes: one step, one row, H=7, bptt 5 to 15, 3 layers", "[fused]") {
  for_each_isa([](fused::kernels::Isa isa) {
    Worst worst;
    std::vector<Shape> shapes = {{1, 1, 3, 7, 1}, {1, 1, 3, 7, 2}, {2, 1, 1, 1, 1}, {3, 5, 4, 7, 3}};
    for (int64_t bptt = 5; bptt <= 15; ++bptt) shapes.push_back({bptt, 3, 5, 7, 2});
    for (const auto cell : {Cell::rnn, Cell::gru, Cell::lstm}) {
      for (const auto& s : shapes) {
        torch::manual_seed(s.steps * 100 + s.layers);
        auto layer = make_layer(cell, s, 0.0);
        layer.module->eval();
        compare(cell, s, layer, make_inputs(layer, s, true), worst, kLayerTolerance);
      }
      // Weights-only gradients: neither x nor the state asks for one.
      const Shape s = {6, 3, 5, 7, 2};
      auto layer = make_layer(cell, s, 0.0);
      auto in = make_inputs(layer, s, false);
      in.x_needs_grad = false;
      compare(cell, s, layer, in, worst, kLayerTolerance);
    }
    worst.print(std::string("odd sizes, ") + fused::kernels::to_string(isa));
  });
}

TEST_CASE("fused layers draw torch::nn's dropout masks: same seed, same outputs and gradients in train mode",
          "[fused]") {
  Worst worst;
  for (const auto cell : {Cell::rnn, Cell::gru, Cell::lstm}) {
    for (const int64_t layers : {2, 3}) {
      const Shape s = {8, 64, 42, cell == Cell::lstm ? 512 : 256, layers};
      torch::manual_seed(layers);
      auto layer = make_layer(cell, s, 0.5);
      layer.module->train();
      const auto in = make_inputs(layer, s, false);
      // Masks drawn apart would zero different units: O(1) differences, not rounding.
      compare(cell, s, layer, in, worst, kLayerTolerance, [] { torch::manual_seed(1234); });
      // Both drew the same amount from the generator: what comes next is the same.
      torch::manual_seed(99);
      layer.nn(in.x, in.states);
      const auto after_nn = torch::rand({8});
      torch::manual_seed(99);
      layer.fused(in.x, in.states);
      const auto after_fused = torch::rand({8});
      CHECK(torch::equal(after_nn, after_fused));
    }
  }
  worst.print("train mode, dropout 0.5");
}

TEST_CASE("fused layers keep the module's training flag: eval draws no masks", "[fused]") {
  const Shape s = {4, 3, 5, 7, 2};
  auto layer = make_layer(Cell::lstm, s, 0.5);
  const auto in = make_inputs(layer, s, false);
  layer.module->eval();
  torch::manual_seed(5);
  const auto first = layer.fused(in.x, in.states)[0];
  const auto next = torch::rand({4});
  torch::manual_seed(5);
  CHECK(torch::equal(next, torch::rand({4})));
  layer.module->train();
  torch::manual_seed(5);
  CHECK_FALSE(torch::allclose(first, layer.fused(in.x, in.states)[0]));
}

TEST_CASE("fused layers run without autograd and check their inputs", "[fused]") {
  const Shape s = {5, 4, 6, 7, 2};
  torch::manual_seed(3);
  auto layer = make_layer(Cell::gru, s, 0.0);
  layer.module->eval();
  const auto in = make_inputs(layer, s, false);
  const auto ref = layer.nn(in.x, in.states);
  torch::NoGradGuard no_grad;
  const auto got = layer.fused(in.x, in.states);
  CHECK(relative_diff(got[0], ref[0]) <= kLayerTolerance);
  CHECK_FALSE(got[0].requires_grad());
  // Zero states where none is given, as the modules do.
  torch::nn::LSTM lstm(torch::nn::LSTMOptions(6, 7));
  const auto [out, hc] = fused::lstm(*lstm, in.x);
  CHECK(relative_diff(out, std::get<0>(lstm->forward(in.x))) <= kLayerTolerance);
  CHECK_THROWS_WITH(fused::lstm(*lstm, in.x.to(torch::kFloat64)), Contains("float32"));
  CHECK_THROWS_WITH(fused::gru(*torch::nn::GRU(torch::nn::GRUOptions(5, 7)), in.x), Contains("[21, 5]"));
  CHECK_THROWS_WITH(fused::rnn_tanh(*torch::nn::RNN(torch::nn::RNNOptions(6, 7).nonlinearity(torch::kReLU)), in.x),
                    Contains("tanh"));
}

namespace {

// Fifty Adam steps on the same batches from the same start, the state carried and detached from
// step to step as the lesson's stateful models do, dropout in train mode; returns the losses and
// the final parameters.
struct Trajectory {
  std::vector<double> losses;
  std::vector<torch::Tensor> params;
};

Trajectory train(const Layer& layer, const Forward& forward, const Shape& s) {
  torch::optim::Adam opt(layer.module->parameters(), torch::optim::AdamOptions(1e-3));
  torch::manual_seed(77);
  std::vector<torch::Tensor> state;
  for (int64_t k = 0; k < layer.states; ++k) state.push_back(torch::zeros({s.layers, s.batch, s.hidden}));
  Trajectory t;
  for (int step = 0; step < 50; ++step) {
    torch::manual_seed(1000 + step);  // batch, target and masks: the same for both
    const auto x = torch::randn({s.steps, s.batch, s.input}).requires_grad_();
    const auto target = torch::randn({s.steps, s.batch, s.hidden}).tanh();
    opt.zero_grad();
    const auto outs = forward(x, state);
    const auto loss = (outs[0] - target).pow(2).mean();
    loss.backward();
    opt.step();
    t.losses.push_back(loss.item<double>());
    for (int64_t k = 0; k < layer.states; ++k) state[k] = outs[1 + k].detach();
  }
  for (const auto& p : layer.module->parameters()) t.params.push_back(p.detach().clone());
  return t;
}

}  // namespace

TEST_CASE("fused LSTM and GRU follow torch::nn's 50-step Adam trajectory", "[fused]") {
  Worst worst;
  for (const auto cell : {Cell::lstm, Cell::gru}) {
    const Shape s = {7, 4, 5, 16, 2};
    torch::manual_seed(21);
    auto reference = make_layer(cell, s, 0.5);
    auto subject = make_layer(cell, s, 0.5);
    {
      torch::NoGradGuard no_grad;
      const auto from = reference.module->parameters();
      const auto to = subject.module->parameters();
      for (size_t i = 0; i < from.size(); ++i) to[i].copy_(from[i]);
    }
    const auto start = reference.module->parameters()[0].detach().clone();
    const auto ref = train(reference, reference.nn, s);
    const auto got = train(subject, subject.fused, s);
    for (size_t i = 0; i < ref.losses.size(); ++i) {
      const double d = std::abs(got.losses[i] - ref.losses[i]) / std::abs(ref.losses[i]);
      INFO(name_of(cell) << " step " << i << ": loss " << got.losses[i] << " against " << ref.losses[i]);
      CHECK(d <= kTrajectoryTolerance);
      worst.note(std::string(name_of(cell)) + " losses", d);
    }
    for (size_t i = 0; i < ref.params.size(); ++i) {
      const double d = relative_diff(got.params[i], ref.params[i]);
      INFO(name_of(cell) << " parameter " << i << " after 50 steps: relative diff " << d);
      CHECK(d <= kTrajectoryTolerance);
      worst.note(std::string(name_of(cell)) + " final parameters", d);
    }
    // The steps moved the weights: the comparison is not of two untouched copies.
    CHECK(relative_diff(ref.params[0], start) > 1e-3);
  }
  worst.print("Adam trajectory, 50 steps");
}
