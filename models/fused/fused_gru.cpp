#include "models/fused/fused_gru.h"

#include <utility>

#include "models/fused/gate_kernels.h"

namespace charnn::fused {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// One layer: inputs (x, h0 [B, H], w_ih, w_hh, b_ih, b_hh), outputs (out [T, B, H], h_n [B, H]).
struct GruLayer : torch::autograd::Function<GruLayer> {
  static variable_list forward(AutogradContext* ctx, const torch::Tensor& x_in, const torch::Tensor& h0_in,
                               const torch::Tensor& w_ih, const torch::Tensor& w_hh, const torch::Tensor& b_ih,
                               const torch::Tensor& b_hh) {
    const auto x = x_in.contiguous(), h0 = h0_in.contiguous();
    const auto steps = x.size(0), batch = x.size(1), hidden = w_hh.size(1);
    const auto width = 3 * batch * hidden;
    // b_hn stays inside r * (W_hn h + b_hn), so the two biases cannot be summed as for the
    // LSTM: the hidden side is its own buffer, started from b_hh for every step.
    const auto gates = detail::input_projection(x, w_ih, b_ih).view({steps, batch, 3 * hidden});
    const auto hgates = b_hh.expand({steps, batch, 3 * hidden}).contiguous();
    const auto out = torch::empty({steps, batch, hidden}, x.options());
    const auto hg = hgates.unbind(0), h = out.unbind(0);
    const auto w_hh_t = w_hh.t();
    for (int64_t t = 0; t < steps; ++t) {
      const auto& h_prev = t == 0 ? h0 : h[t - 1];
      hg[t].addmm_(h_prev, w_hh_t);
      kernels::gru_forward({batch, hidden, detail::data(gates) + t * width, detail::data(hg[t]), detail::data(h_prev),
                            detail::data(h[t])});
    }
    ctx->save_for_backward({x, h0, w_ih, w_hh, out});
    ctx->saved_data["gates"] = gates;
    ctx->saved_data["hgates"] = hgates;
    ctx->set_materialize_grads(false);
    return {out, h[steps - 1].clone()};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &h0 = saved[1], &w_ih = saved[2], &w_hh = saved[3], &out = saved[4];
    const auto gates = ctx->saved_data["gates"].toTensor(), hgates = ctx->saved_data["hgates"].toTensor();
    const auto steps = out.size(0), batch = out.size(1), hidden = out.size(2);
    const auto step = batch * hidden, width = 3 * step;
    const detail::Needs needs{ctx->needs_input_grad(0), ctx->needs_input_grad(1), ctx->needs_input_grad(2),
                              ctx->needs_input_grad(3), ctx->needs_input_grad(4), ctx->needs_input_grad(5)};
    const auto grad_out = detail::grad_or_zeros(grads[0], out);
    auto dh = detail::owned_grad_or_zeros(grads[1], h0);  // h_n's gradient, then h_{t-1}'s
    auto dh_prev = torch::empty_like(dh);
    const auto dgates = torch::empty_like(gates), dhgates = torch::empty_like(hgates);
    const auto dhg = dhgates.unbind(0);
    for (int64_t t = steps - 1; t >= 0; --t) {
      const float* h_prev = t == 0 ? detail::data(h0) : detail::data(out) + (t - 1) * step;
      kernels::gru_backward({batch, hidden, detail::data(grad_out) + t * step, detail::data(dh),
                             detail::data(gates) + t * width, detail::data(hgates) + t * width, h_prev,
                             detail::data(dgates) + t * width, detail::data(dhg[t]), detail::data(dh_prev)});
      // dh_prev holds the part through z; the part through W_h is one product on top.
      if (t > 0 || needs.h0) {
        dh_prev.addmm_(dhg[t], w_hh);
        std::swap(dh, dh_prev);
      }
    }
    auto g = detail::products_over_steps(needs, dgates, dhgates, x, h0, out, w_ih);
    return {g.x, needs.h0 ? dh : torch::Tensor(), g.w_ih, g.w_hh, g.b_ih, g.b_hh};
  }
};

}  // namespace

std::tuple<torch::Tensor, torch::Tensor> gru(const torch::Tensor& x, const torch::Tensor& h0,
                                             const std::vector<LayerParams>& layers, bool train, double dropout) {
  const auto num_layers = static_cast<int64_t>(layers.size());
  TORCH_CHECK(num_layers >= 1, "fused gru: no layers");
  const auto state = detail::state_or_zeros(h0, x, num_layers, layers[0].w_hh.size(1));
  detail::check_inputs("fused gru", x, {state}, layers, 3);
  std::vector<torch::Tensor> h_n;
  auto output = detail::stack_layers(x, num_layers, train, dropout, [&](const torch::Tensor& input, int64_t l) {
    const auto& p = layers[l];
    auto outs = GruLayer::apply(input, state[l], p.w_ih, p.w_hh, p.b_ih, p.b_hh);
    h_n.push_back(outs[1]);
    return outs[0];
  });
  return {output, torch::stack(h_n)};
}

std::tuple<torch::Tensor, torch::Tensor> gru(const torch::nn::GRUImpl& gru, const torch::Tensor& x,
                                             const torch::Tensor& h0) {
  const auto& o = gru.options;
  TORCH_CHECK(o.bias() && !o.bidirectional() && !o.batch_first(),
              "fused gru: the GRU must have biases and be neither bidirectional nor batch_first");
  return fused::gru(x, h0, layer_params(gru, o.num_layers()), gru.is_training(), o.dropout());
}

}  // namespace charnn::fused
