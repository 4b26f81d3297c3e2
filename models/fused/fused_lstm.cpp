#include "models/fused/fused_lstm.h"

#include <utility>

#include "models/fused/gate_kernels.h"

namespace charnn::fused {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// One layer: inputs (x, h0 [B, H], c0 [B, H], w_ih, w_hh, b_ih, b_hh), outputs (out [T, B, H],
// h_n [B, H], c_n [B, H]).
struct LstmLayer : torch::autograd::Function<LstmLayer> {
  static variable_list forward(AutogradContext* ctx, const torch::Tensor& x_in, const torch::Tensor& h0_in,
                               const torch::Tensor& c0_in, const torch::Tensor& w_ih, const torch::Tensor& w_hh,
                               const torch::Tensor& b_ih, const torch::Tensor& b_hh) {
    const auto x = x_in.contiguous(), h0 = h0_in.contiguous(), c0 = c0_in.contiguous();
    const auto steps = x.size(0), batch = x.size(1), hidden = w_hh.size(1);
    const auto step = batch * hidden;
    const auto gates = detail::input_projection(x, w_ih, b_ih + b_hh).view({steps, batch, 4 * hidden});
    const auto out = torch::empty({steps, batch, hidden}, x.options());
    const auto c = torch::empty_like(out), tanh_c = torch::empty_like(out);
    const auto g = gates.unbind(0), h = out.unbind(0);
    const auto w_hh_t = w_hh.t();
    for (int64_t t = 0; t < steps; ++t) {
      g[t].addmm_(t == 0 ? h0 : h[t - 1], w_hh_t);
      kernels::lstm_forward({batch, hidden, detail::data(g[t]),
                             t == 0 ? detail::data(c0) : detail::data(c) + (t - 1) * step, detail::data(c) + t * step,
                             detail::data(tanh_c) + t * step, detail::data(h[t])});
    }
    ctx->save_for_backward({x, h0, c0, w_ih, w_hh, out});
    ctx->saved_data["gates"] = gates;
    ctx->saved_data["c"] = c;
    ctx->saved_data["tanh_c"] = tanh_c;
    ctx->set_materialize_grads(false);
    return {out, h[steps - 1].clone(), c[steps - 1].clone()};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &h0 = saved[1], &c0 = saved[2], &w_ih = saved[3], &w_hh = saved[4], &out = saved[5];
    const auto gates = ctx->saved_data["gates"].toTensor(), c = ctx->saved_data["c"].toTensor(),
               tanh_c = ctx->saved_data["tanh_c"].toTensor();
    const auto steps = out.size(0), batch = out.size(1), hidden = out.size(2);
    const auto step = batch * hidden, width = 4 * step;
    const detail::Needs needs{ctx->needs_input_grad(0), ctx->needs_input_grad(1), ctx->needs_input_grad(3),
                              ctx->needs_input_grad(4), ctx->needs_input_grad(5), ctx->needs_input_grad(6)};
    const auto grad_out = detail::grad_or_zeros(grads[0], out);
    auto dh = detail::owned_grad_or_zeros(grads[1], h0);  // h_n's gradient, then h_{t-1}'s
    auto dh_prev = torch::empty_like(dh);
    auto dc = detail::owned_grad_or_zeros(grads[2], c0);  // c_n's gradient, then c_{t-1}'s
    const auto dgates = torch::empty_like(gates);
    const auto dg = dgates.unbind(0);
    for (int64_t t = steps - 1; t >= 0; --t) {
      kernels::lstm_backward({batch, hidden, detail::data(grad_out) + t * step, detail::data(dh),
                              detail::data(gates) + t * width,
                              t == 0 ? detail::data(c0) : detail::data(c) + (t - 1) * step,
                              detail::data(tanh_c) + t * step, detail::data(dc), detail::data(dg[t])});
      if (t > 0 || needs.h0) {
        torch::mm_out(dh_prev, dg[t], w_hh);
        std::swap(dh, dh_prev);
      }
    }
    auto p = detail::products_over_steps(needs, dgates, dgates, x, h0, out, w_ih);
    const auto dc0 = ctx->needs_input_grad(2) ? dc : torch::Tensor();
    return {p.x, needs.h0 ? dh : torch::Tensor(), dc0, p.w_ih, p.w_hh, p.b_ih, p.b_hh};
  }
};

}  // namespace

std::tuple<torch::Tensor, std::tuple<torch::Tensor, torch::Tensor>> lstm(
    const torch::Tensor& x, const std::tuple<torch::Tensor, torch::Tensor>& hx, const std::vector<LayerParams>& layers,
    bool train, double dropout) {
  const auto num_layers = static_cast<int64_t>(layers.size());
  TORCH_CHECK(num_layers >= 1, "fused lstm: no layers");
  const auto hidden = layers[0].w_hh.size(1);
  const auto h0 = detail::state_or_zeros(std::get<0>(hx), x, num_layers, hidden);
  const auto c0 = detail::state_or_zeros(std::get<1>(hx), x, num_layers, hidden);
  detail::check_inputs("fused lstm", x, {h0, c0}, layers, 4);
  std::vector<torch::Tensor> h_n, c_n;
  auto output = detail::stack_layers(x, num_layers, train, dropout, [&](const torch::Tensor& input, int64_t l) {
    const auto& p = layers[l];
    auto outs = LstmLayer::apply(input, h0[l], c0[l], p.w_ih, p.w_hh, p.b_ih, p.b_hh);
    h_n.push_back(outs[1]);
    c_n.push_back(outs[2]);
    return outs[0];
  });
  return {output, {torch::stack(h_n), torch::stack(c_n)}};
}

std::tuple<torch::Tensor, std::tuple<torch::Tensor, torch::Tensor>> lstm(
    const torch::nn::LSTMImpl& lstm, const torch::Tensor& x, const std::tuple<torch::Tensor, torch::Tensor>& hx) {
  const auto& o = lstm.options;
  TORCH_CHECK(o.bias() && !o.bidirectional() && !o.batch_first() && o.proj_size() == 0,
              "fused lstm: the LSTM must have biases, no projection, and be neither bidirectional nor batch_first");
  return fused::lstm(x, hx, layer_params(lstm, o.num_layers()), lstm.is_training(), o.dropout());
}

}  // namespace charnn::fused
