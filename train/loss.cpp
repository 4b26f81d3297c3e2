#include "train/loss.h"

namespace charnn {

torch::Tensor nll_loss_seq(const torch::Tensor& inp, const torch::Tensor& targ) {
  const auto nh = inp.size(2);
  auto flat_targ = targ.transpose(0, 1).contiguous().view(-1);
  return torch::nll_loss(inp.view({-1, nh}), flat_targ);
}

torch::Tensor lesson_loss(LossKind kind, const torch::Tensor& out, const torch::Tensor& y) {
  return kind == LossKind::NllSeq ? nll_loss_seq(out, y) : torch::nll_loss(out, y);
}

}  // namespace charnn
