#include "bench/fused_rnn.h"

namespace charnn::bench {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct FusedRnnTanh : torch::autograd::Function<FusedRnnTanh> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& h0,
                               const torch::Tensor& w_ih, const torch::Tensor& w_hh, const torch::Tensor& b_ih,
                               const torch::Tensor& b_hh) {
    const auto cs = x.size(0), bs = x.size(1), nh = w_hh.size(0);
    // All input projections in one product: [cs*B, n_in] x [n_in, H], both biases folded in.
    auto out = torch::addmm(b_ih + b_hh, x.reshape({cs * bs, x.size(2)}), w_ih.t()).view({cs, bs, nh});
    auto h = h0[0];
    const auto w_hh_t = w_hh.t();
    for (int64_t t = 0; t < cs; ++t) {
      auto o = out[t];
      o.addmm_(h, w_hh_t);  // in place over the input projection: no temporaries
      o.tanh_();
      h = o;
    }
    ctx->save_for_backward({x, h0, w_ih, w_hh, out});
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &h0 = saved[1], &w_ih = saved[2], &w_hh = saved[3], &out = saved[4];
    const auto cs = x.size(0), bs = x.size(1), nh = w_hh.size(0);
    const auto& grad_out = grads[0];
    auto dpre = torch::empty_like(out);  // d(loss)/d(pre-activation), every step
    torch::Tensor dh;                    // d(loss)/d(h_t) from step t+1
    for (int64_t t = cs - 1; t >= 0; --t) {
      auto g = dh.defined() ? grad_out[t] + dh : grad_out[t];
      // tanh' = 1 - out^2
      auto d = dpre[t];
      at::tanh_backward_out(d, g, out[t]);
      if (t > 0 || h0.requires_grad()) dh = torch::mm(dpre[t], w_hh);
    }
    const auto dpre_flat = dpre.view({cs * bs, nh});
    // The hidden-to-hidden gradient over all steps at once: h_{t-1} is out[t-1], and h0 for t = 0.
    auto dw_hh = torch::mm(dpre.slice(0, 1).reshape({(cs - 1) * bs, nh}).t(), out.slice(0, 0, cs - 1).reshape({(cs - 1) * bs, nh}));
    dw_hh.addmm_(dpre[0].t(), h0[0]);
    auto dw_ih = torch::mm(dpre_flat.t(), x.reshape({cs * bs, x.size(2)}));
    auto dx = torch::mm(dpre_flat, w_ih).view(x.sizes());
    auto db = dpre_flat.sum(0);
    auto dh0 = h0.requires_grad() ? dh.unsqueeze(0) : torch::Tensor();
    return {dx, dh0, dw_ih, dw_hh, db, db};
  }
};

}  // namespace

torch::Tensor fused_rnn_tanh(const torch::Tensor& x, const torch::Tensor& h0, const torch::Tensor& w_ih,
                             const torch::Tensor& w_hh, const torch::Tensor& b_ih, const torch::Tensor& b_hh) {
  return FusedRnnTanh::apply(x, h0, w_ih, w_hh, b_ih, b_hh);
}

}  // namespace charnn::bench
