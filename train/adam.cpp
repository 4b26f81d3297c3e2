// Compiled with -ffp-contract=off (CMakeLists.txt): every rounding below is written out, and the
// compiler must not fuse a product and a sum that ATen rounds apart.
#include "train/adam.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/error.h"

namespace charnn {

namespace {

// A template, so that only the branch of this LibTorch's key type is compiled.
template <typename Key>
Key state_key(const torch::Tensor& p) {
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream s;
    s << p.unsafeGetTensorImpl();
    return s.str();
  } else {
    return p.unsafeGetTensorImpl();
  }
}

}  // namespace

OptimizerStateKey optimizer_state_key(const torch::Tensor& p) { return state_key<OptimizerStateKey>(p); }

std::string to_string(AdamKernel kernel) {
  switch (kernel) {
    case AdamKernel::aten: return "aten";
    case AdamKernel::fused_fma: return "fused (fma)";
    case AdamKernel::fused_plain: return "fused";
  }
  return "?";
}

namespace {

// LibTorch's scalars as its float kernels see them: each double cast to float once.
struct Coefficients {
  bool weight_decay;
  float wd, beta1, one_minus_beta1, beta2, one_minus_beta2, sqrt_bias_correction2, eps, neg_step_size;
};

// Pass 1, as ATen's default kernels: g = grad.add(p, wd); m.mul_(b1).add_(g, 1-b1);
// v.mul_(b2).addcmul_(g, g, 1-b2), each product and sum rounded.
void moments_plain(const float* __restrict p, const float* __restrict grad, float* __restrict m,
                   float* __restrict v, int64_t n, const Coefficients& c) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = c.weight_decay ? grad[i] + c.wd * p[i] : grad[i];
    m[i] = m[i] * c.beta1 + c.one_minus_beta1 * g;
    v[i] = v[i] * c.beta2 + c.one_minus_beta2 * g * g;
  }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CHARNN_ADAM_FMA 1
// Pass 1, as ATen's AVX2/AVX-512 kernels: add's alpha by vec::fmadd, addcmul's last product
// fused into its sum.
__attribute__((target("avx2,fma"))) void moments_fma(const float* __restrict p, const float* __restrict grad,
                                                     float* __restrict m, float* __restrict v, int64_t n,
                                                     const Coefficients& c) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = c.weight_decay ? std::fma(p[i], c.wd, grad[i]) : grad[i];
    m[i] = std::fma(g, c.one_minus_beta1, m[i] * c.beta1);
    v[i] = std::fma(c.one_minus_beta2 * g, g, v[i] * c.beta2);
  }
}
bool cpu_has_fma() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
#else
bool cpu_has_fma() { return false; }
#endif

// Pass 2: denom = (sqrt(v) / sqrt(bc2)).add_(eps); p.addcdiv_(m, denom, -step_size), whose
// kernel computes p + (value * m) / denom.
void parameter(float* __restrict p, const float* __restrict m, const float* __restrict root, int64_t n,
               const Coefficients& c) {
  for (int64_t i = 0; i < n; ++i) {
    const float denom = root[i] / c.sqrt_bias_correction2 + c.eps;
    p[i] = p[i] + (c.neg_step_size * m[i]) / denom;
  }
}

bool plain_float_cpu(const torch::Tensor& t) {
  return t.defined() && t.device().is_cpu() && t.scalar_type() == torch::kFloat && t.is_contiguous() &&
         t.layout() == torch::kStrided;
}

torch::optim::AdamParamState* existing_state(torch::optim::Adam& opt, const torch::Tensor& p) {
  const auto it = opt.state().find(optimizer_state_key(p));
  return it == opt.state().end() ? nullptr : static_cast<torch::optim::AdamParamState*>(it->second.get());
}

bool fusable(torch::optim::Adam& opt) {
  for (auto& group : opt.param_groups()) {
    if (static_cast<const torch::optim::AdamOptions&>(group.options()).amsgrad()) return false;
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      if (!plain_float_cpu(p) || !plain_float_cpu(p.grad()) || p.grad().sizes() != p.sizes()) return false;
      if (auto* s = existing_state(opt, p); s && (!plain_float_cpu(s->exp_avg()) || !plain_float_cpu(s->exp_avg_sq()))) {
        return false;
      }
    }
  }
  return true;
}

// torch::optim::Adam's state for p, created as its step() creates it.
torch::optim::AdamParamState& state_for(torch::optim::Adam& opt, const torch::Tensor& p) {
  if (auto* s = existing_state(opt, p)) return *s;
  auto fresh = std::make_unique<torch::optim::AdamParamState>();
  fresh->step(0);
  fresh->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
  fresh->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
  auto& s = *fresh;
  opt.state()[optimizer_state_key(p)] = std::move(fresh);
  return s;
}

void update(const torch::Tensor& p, torch::optim::AdamParamState& s, const torch::optim::AdamOptions& o,
            AdamKernel kernel) {
  s.step(s.step() + 1);
  const auto [beta1, beta2] = o.betas();
  const double bias_correction1 = 1 - std::pow(beta1, s.step());
  const double bias_correction2 = 1 - std::pow(beta2, s.step());
  const Coefficients c{o.weight_decay() != 0,
                       static_cast<float>(o.weight_decay()),
                       static_cast<float>(beta1),
                       static_cast<float>(1 - beta1),
                       static_cast<float>(beta2),
                       static_cast<float>(1 - beta2),
                       static_cast<float>(std::sqrt(bias_correction2)),
                       static_cast<float>(o.eps()),
                       static_cast<float>(-(o.lr() / bias_correction1))};
  const auto grad = p.grad();
  float* m = s.exp_avg().data_ptr<float>();
  float* v = s.exp_avg_sq().data_ptr<float>();
  const int64_t n = p.numel();
#ifdef CHARNN_ADAM_FMA
  if (kernel == AdamKernel::fused_fma) {
    moments_fma(p.data_ptr<float>(), grad.data_ptr<float>(), m, v, n, c);
  } else
#endif
  {
    moments_plain(p.data_ptr<float>(), grad.data_ptr<float>(), m, v, n, c);
  }
  const auto root = s.exp_avg_sq().sqrt();
  parameter(p.data_ptr<float>(), m, root.data_ptr<float>(), n, c);
  // As addcdiv_ would: a graph that saved the old weights must fail its backward, not use the new.
  torch::autograd::impl::bump_version(p);
}

void fused_step(torch::optim::Adam& opt, AdamKernel kernel) {
  torch::NoGradGuard no_grad;
  for (auto& group : opt.param_groups()) {
    const auto& o = static_cast<const torch::optim::AdamOptions&>(group.options());
    for (auto& p : group.params()) {
      if (p.grad().defined()) update(p, state_for(opt, p), o, kernel);
    }
  }
}

// Test values spanning the magnitudes training meets, from a fixed integer sequence (LibTorch's
// generator is the run's and must not move).
torch::Tensor test_values(uint64_t seed, int64_t n, int lowest_exponent, int highest_exponent) {
  std::vector<float> out(static_cast<size_t>(n));
  uint64_t x = seed;
  for (auto& value : out) {
    x += 0x9E3779B97F4A7C15ull;  // splitmix64
    uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    const double unit = static_cast<double>(z >> 11) / 9007199254740992.0 * 2 - 1;  // [-1, 1)
    const int exponent = lowest_exponent + static_cast<int>(z % (highest_exponent - lowest_exponent + 1));
    value = static_cast<float>(unit * std::pow(10.0, exponent));
  }
  return torch::from_blob(out.data(), {n}).clone();
}

bool same_bits(const torch::Tensor& a, const torch::Tensor& b) {
  return a.numel() == b.numel() && std::memcmp(a.data_ptr<float>(), b.data_ptr<float>(), a.numel() * sizeof(float)) == 0;
}

// Three steps with weight decay on 4099 values (not a multiple of any vector width, so the
// kernels' scalar tails take part) against torch::optim::Adam.
bool matches_libtorch(AdamKernel kernel) {
  constexpr int64_t n = 4099;
  const auto options = torch::optim::AdamOptions(1e-2).weight_decay(1e-5);
  const auto start = test_values(1, n, -4, 0);
  auto expected = start.clone();
  auto actual = start.clone();
  torch::optim::Adam reference({expected}, options);
  torch::optim::Adam trial({actual}, options);
  for (uint64_t step = 0; step < 3; ++step) {
    const auto grad = test_values(2 + step, n, -6, -1);
    expected.mutable_grad() = grad.clone();
    actual.mutable_grad() = grad.clone();
    reference.step();
    fused_step(trial, kernel);
  }
  auto& r = *existing_state(reference, expected);
  auto& t = *existing_state(trial, actual);
  return same_bits(expected, actual) && same_bits(r.exp_avg(), t.exp_avg()) && same_bits(r.exp_avg_sq(), t.exp_avg_sq());
}

AdamKernel find_kernel() {
  // For measurements: LibTorch's own step, as before this file.
  if (const char* forced = std::getenv("CHARNN_ADAM_KERNEL"); forced && std::string(forced) == "aten") {
    return AdamKernel::aten;
  }
  if (cpu_has_fma() && matches_libtorch(AdamKernel::fused_fma)) return AdamKernel::fused_fma;
  if (matches_libtorch(AdamKernel::fused_plain)) return AdamKernel::fused_plain;
  return AdamKernel::aten;
}

}  // namespace

AdamKernel Adam::kernel() {
  static const AdamKernel found = find_kernel();
  return found;
}

torch::Tensor Adam::step(LossClosure closure) {
  if (closure || kernel() == AdamKernel::aten || !fusable(*this)) return torch::optim::Adam::step(std::move(closure));
  fused_step(*this, kernel());
  return {};
}

namespace {

class AdamOptimizer : public Optimizer {
 public:
  AdamOptimizer(std::vector<torch::Tensor> parameters, double lr, double weight_decay)
      : adam_(std::move(parameters), torch::optim::AdamOptions(lr).weight_decay(weight_decay)) {}
  torch::optim::Optimizer& torch() override { return adam_; }

  OptimizerValues parameter_state(const torch::Tensor& p) override {
    auto out = optimizer_values();
    const auto it = adam_.state().find(optimizer_state_key(p));
    if (it == adam_.state().end()) return out;  // no step taken yet
    const auto& s = static_cast<const torch::optim::AdamParamState&>(*it->second);
    out.insert("step", s.step());
    out.insert("exp_avg", s.exp_avg());
    out.insert("exp_avg_sq", s.exp_avg_sq());
    return out;
  }

  void set_parameter_state(const torch::Tensor& p, const OptimizerValues& state) override {
    auto s = std::make_unique<torch::optim::AdamParamState>();
    s->step(integer(state, "step"));
    s->exp_avg(moment(state, "exp_avg", p));
    s->exp_avg_sq(moment(state, "exp_avg_sq", p));
    adam_.state()[optimizer_state_key(p)] = std::move(s);
  }

  OptimizerValues group_options() override {
    const auto& o = static_cast<const torch::optim::AdamOptions&>(adam_.param_groups().at(0).options());
    auto out = optimizer_values();
    out.insert("lr", o.lr());
    out.insert("betas", c10::ivalue::Tuple::create(std::get<0>(o.betas()), std::get<1>(o.betas())));
    out.insert("eps", o.eps());
    out.insert("weight_decay", o.weight_decay());
    out.insert("amsgrad", o.amsgrad());
    return out;
  }

 private:
  static const c10::IValue& entry(const OptimizerValues& state, const char* key) {
    const auto it = state.find(key);
    if (it == state.end()) throw InputError(fmt::format("'{}' is missing", key));
    return it->value();
  }
  static int64_t integer(const OptimizerValues& state, const char* key) {
    const auto& v = entry(state, key);
    if (!v.isInt()) throw InputError(fmt::format("'{}' must be an integer, found {}", key, v.tagKind()));
    return v.toInt();
  }
  // Every moment must fit its parameter, or the first step would fail inside LibTorch.
  static torch::Tensor moment(const OptimizerValues& state, const char* key, const torch::Tensor& p) {
    const auto& v = entry(state, key);
    if (!v.isTensor()) throw InputError(fmt::format("'{}' must be a tensor, found {}", key, v.tagKind()));
    const auto t = v.toTensor();
    if (!t.sizes().equals(p.sizes())) {
      throw InputError(fmt::format("'{}' has shape [{}], the parameter [{}]", key, fmt::join(t.sizes(), ", "),
                                   fmt::join(p.sizes(), ", ")));
    }
    return t.to(p.device(), p.scalar_type()).clone();
  }

  Adam adam_;
};

}  // namespace

OptimizerSpec adam_entry() {
  return {"adam", [](std::vector<torch::Tensor> parameters, double lr, double weight_decay) {
            return std::make_unique<AdamOptimizer>(std::move(parameters), lr, weight_decay);
          }};
}

}  // namespace charnn
