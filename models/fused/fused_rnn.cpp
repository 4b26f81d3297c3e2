#include "models/fused/fused_rnn.h"

#include <utility>

#include "models/fused/gate_kernels.h"

namespace charnn::fused {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// One layer: inputs (x, h0 [B, H], w_ih, w_hh, b_ih, b_hh), outputs (out [T, B, H], h_n [B, H]).
struct RnnLayer : torch::autograd::Function<RnnLayer> {
  static variable_list forward(AutogradContext* ctx, const torch::Tensor& x_in, const torch::Tensor& h0_in,
                               const torch::Tensor& w_ih, const torch::Tensor& w_hh, const torch::Tensor& b_ih,
                               const torch::Tensor& b_hh) {
    const auto x = x_in.contiguous(), h0 = h0_in.contiguous();
    const auto steps = x.size(0), batch = x.size(1), hidden = w_hh.size(1);
    // The pre-activations of every step land in out, and each step's tanh overwrites its own.
    const auto out = detail::input_projection(x, w_ih, b_ih + b_hh).view({steps, batch, hidden});
    const auto h = out.unbind(0);
    const auto w_hh_t = w_hh.t();
    for (int64_t t = 0; t < steps; ++t) {
      h[t].addmm_(t == 0 ? h0 : h[t - 1], w_hh_t);
      kernels::rnn_forward({batch, hidden, detail::data(h[t])});
    }
    ctx->save_for_backward({x, h0, w_ih, w_hh, out});
    ctx->set_materialize_grads(false);
    return {out, h[steps - 1].clone()};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &h0 = saved[1], &w_ih = saved[2], &w_hh = saved[3], &out = saved[4];
    const auto steps = out.size(0), batch = out.size(1), hidden = out.size(2), step = batch * hidden;
    const detail::Needs needs{ctx->needs_input_grad(0), ctx->needs_input_grad(1), ctx->needs_input_grad(2),
                              ctx->needs_input_grad(3), ctx->needs_input_grad(4), ctx->needs_input_grad(5)};
    const auto grad_out = detail::grad_or_zeros(grads[0], out);
    auto dh = detail::owned_grad_or_zeros(grads[1], h0);  // h_n's gradient, then h_{t-1}'s
    auto dh_prev = torch::empty_like(dh);
    const auto dpre = torch::empty_like(out);
    const auto dpre_t = dpre.unbind(0);
    for (int64_t t = steps - 1; t >= 0; --t) {
      kernels::rnn_backward({batch, hidden, detail::data(grad_out) + t * step, detail::data(dh),
                             detail::data(out) + t * step, detail::data(dpre_t[t])});
      if (t > 0 || needs.h0) {
        torch::mm_out(dh_prev, dpre_t[t], w_hh);
        std::swap(dh, dh_prev);
      }
    }
    auto g = detail::products_over_steps(needs, dpre, dpre, x, h0, out, w_ih);
    return {g.x, needs.h0 ? dh : torch::Tensor(), g.w_ih, g.w_hh, g.b_ih, g.b_hh};
  }
};

}  // namespace

std::tuple<torch::Tensor, torch::Tensor> rnn_tanh(const torch::Tensor& x, const torch::Tensor& h0,
                                                  const std::vector<LayerParams>& layers, bool train, double dropout) {
  const auto num_layers = static_cast<int64_t>(layers.size());
  TORCH_CHECK(num_layers >= 1, "fused rnn_tanh: no layers");
  const auto state = detail::state_or_zeros(h0, x, num_layers, layers[0].w_hh.size(1));
  detail::check_inputs("fused rnn_tanh", x, {state}, layers, 1);
  std::vector<torch::Tensor> h_n;
  auto output = detail::stack_layers(x, num_layers, train, dropout, [&](const torch::Tensor& input, int64_t l) {
    const auto& p = layers[l];
    auto outs = RnnLayer::apply(input, state[l], p.w_ih, p.w_hh, p.b_ih, p.b_hh);
    h_n.push_back(outs[1]);
    return outs[0];
  });
  return {output, torch::stack(h_n)};
}

std::tuple<torch::Tensor, torch::Tensor> rnn_tanh(const torch::nn::RNNImpl& rnn, const torch::Tensor& x,
                                                  const torch::Tensor& h0) {
  const auto& o = rnn.options;
  TORCH_CHECK(torch::enumtype::get_enum_name(o.nonlinearity()) == "kTanh", "fused rnn_tanh: the RNN must be tanh");
  TORCH_CHECK(o.bias() && !o.bidirectional() && !o.batch_first(),
              "fused rnn_tanh: the RNN must have biases and be neither bidirectional nor batch_first");
  return rnn_tanh(x, h0, layer_params(rnn, o.num_layers()), rnn.is_training(), o.dropout());
}

}  // namespace charnn::fused
