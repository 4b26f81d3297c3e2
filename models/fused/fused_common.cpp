#include "models/fused/fused_common.h"

#include <optional>

#include <string>

namespace charnn::fused {

std::vector<LayerParams> layer_params(const torch::nn::Module& module, int64_t num_layers) {
  const auto params = module.named_parameters(/*recurse=*/false);
  const auto get = [&](const std::string& name) {
    const auto* p = params.find(name);
    TORCH_CHECK(p != nullptr, "fused layer: ", module.name(), " has no parameter ", name);
    return *p;
  };
  std::vector<LayerParams> layers;
  for (int64_t k = 0; k < num_layers; ++k) {
    const auto l = std::to_string(k);
    layers.push_back({get("weight_ih_l" + l), get("weight_hh_l" + l), get("bias_ih_l" + l), get("bias_hh_l" + l)});
  }
  return layers;
}

namespace detail {

void check_inputs(const char* layer, const torch::Tensor& x, const std::vector<torch::Tensor>& states,
                  const std::vector<LayerParams>& layers, int64_t gates) {
  TORCH_CHECK(!layers.empty(), layer, ": no layers");
  TORCH_CHECK(x.dim() == 3 && x.size(0) >= 1 && x.size(1) >= 1, layer, ": x must be [T, B, I] with T, B >= 1, got ",
              x.sizes());
  TORCH_CHECK(x.scalar_type() == torch::kFloat && x.device().is_cpu(), layer, ": x must be float32 on the CPU");
  const auto num_layers = static_cast<int64_t>(layers.size());
  const auto hidden = layers[0].w_hh.size(-1);
  for (int64_t l = 0; l < num_layers; ++l) {
    const auto& p = layers[l];
    const auto in = l == 0 ? x.size(2) : hidden;
    const std::vector<std::pair<const torch::Tensor*, std::vector<int64_t>>> expected = {
        {&p.w_ih, {gates * hidden, in}}, {&p.w_hh, {gates * hidden, hidden}},
        {&p.b_ih, {gates * hidden}},     {&p.b_hh, {gates * hidden}}};
    for (const auto& [t, shape] : expected) {
      TORCH_CHECK(t->defined() && t->sizes() == torch::IntArrayRef(shape), layer, ": layer ", l,
                  "'s parameters must be ", torch::IntArrayRef(shape), ", got ",
                  t->defined() ? t->sizes() : torch::IntArrayRef{});
      TORCH_CHECK(t->scalar_type() == torch::kFloat && t->device().is_cpu(), layer,
                  ": parameters must be float32 on the CPU");
    }
  }
  for (const auto& s : states) {
    TORCH_CHECK(s.sizes() == torch::IntArrayRef({num_layers, x.size(1), hidden}), layer, ": a state must be [",
                num_layers, ", ", x.size(1), ", ", hidden, "], got ", s.sizes());
    TORCH_CHECK(s.scalar_type() == torch::kFloat && s.device().is_cpu(), layer, ": states must be float32 on the CPU");
  }
}

torch::Tensor state_or_zeros(const torch::Tensor& state, const torch::Tensor& x, int64_t num_layers, int64_t hidden) {
  return state.defined() ? state : torch::zeros({num_layers, x.size(1), hidden}, x.options());
}

namespace {

thread_local std::optional<DropoutColumns::Window> g_columns;

// at::dropout(input, p, true) on CPU, its mask drawn for the whole batch and cut to the window's
// columns: the same noise tensor, bernoulli_ draw and division, so the window's values are the
// ones the whole batch's dropout gives them.
torch::Tensor dropout_of_columns(const torch::Tensor& input, double p, const DropoutColumns::Window& w) {
  auto sizes = input.sizes().vec();
  sizes[1] = w.total;
  auto noise = at::empty(sizes, input.options()).bernoulli_(1 - p).narrow(1, w.begin, input.size(1));
  noise.div_(1 - p);
  return input * noise;
}

}  // namespace

}  // namespace detail

DropoutColumns::DropoutColumns(int64_t begin, int64_t total) : previous_(detail::g_columns) {
  detail::g_columns = Window{begin, total};
}

DropoutColumns::~DropoutColumns() { detail::g_columns = previous_; }

namespace detail {

torch::Tensor stack_layers(const torch::Tensor& x, int64_t num_layers, bool train, double dropout,
                           const std::function<torch::Tensor(const torch::Tensor& input, int64_t layer)>& layer) {
  auto input = x;
  for (int64_t l = 0; l < num_layers; ++l) {
    input = layer(input, l);
    if (dropout == 0 || !train || l == num_layers - 1) continue;
    input = g_columns ? dropout_of_columns(input, dropout, *g_columns) : at::dropout(input, dropout, /*train=*/true);
  }
  return input;
}

torch::Tensor input_projection(const torch::Tensor& x, const torch::Tensor& w_ih, const torch::Tensor& bias) {
  return torch::addmm(bias, x.reshape({-1, x.size(-1)}), w_ih.t());
}

torch::Tensor grad_or_zeros(const torch::Tensor& grad, const torch::Tensor& like) {
  return grad.defined() ? grad.contiguous() : torch::zeros_like(like, at::MemoryFormat::Contiguous);
}

torch::Tensor owned_grad_or_zeros(const torch::Tensor& grad, const torch::Tensor& like) {
  return grad.defined() ? grad.clone(at::MemoryFormat::Contiguous)
                        : torch::zeros_like(like, at::MemoryFormat::Contiguous);
}

ProductGrads products_over_steps(const Needs& needs, const torch::Tensor& dgates_x, const torch::Tensor& dgates_h,
                                 const torch::Tensor& x, const torch::Tensor& h0, const torch::Tensor& out,
                                 const torch::Tensor& w_ih) {
  const auto steps = x.size(0), hidden = out.size(2), width = dgates_x.size(2);
  const auto dgx = dgates_x.view({-1, width});
  ProductGrads g;
  if (needs.x) g.x = torch::mm(dgx, w_ih).view(x.sizes());
  if (needs.w_ih) g.w_ih = torch::mm(dgx.t(), x.reshape({-1, x.size(2)}));
  if (needs.w_hh) {
    // h_{t-1} is h0 for the first step and out[t-1] after it: two products, no copy of the states.
    g.w_hh = torch::mm(dgates_h[0].t(), h0);
    if (steps > 1) {
      g.w_hh.addmm_(dgates_h.slice(0, 1).reshape({-1, width}).t(), out.slice(0, 0, steps - 1).reshape({-1, hidden}));
    }
  }
  if (needs.b_ih) g.b_ih = dgx.sum(0);
  if (needs.b_hh) {
    // A tensor of its own even when the sums are the same: two .grad fields must not share one.
    g.b_hh = dgates_h.is_same(dgates_x) && g.b_ih.defined() ? g.b_ih.clone() : dgates_h.view({-1, width}).sum(0);
  }
  return g;
}

}  // namespace detail
}  // namespace charnn::fused
