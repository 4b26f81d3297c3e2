#pragma once
// The lesson's two criteria: F.nll_loss, and nll_loss_seq for the multi-output model.
#include <torch/torch.h>

#include "models/registry.h"

namespace charnn {

// def nll_loss_seq(inp, targ):
//     sl,bs,nh = inp.size()
//     targ = targ.transpose(0,1).contiguous().view(-1)
//     return F.nll_loss(inp.view(-1,nh), targ)
torch::Tensor nll_loss_seq(const torch::Tensor& inp, const torch::Tensor& targ);

torch::Tensor lesson_loss(LossKind kind, const torch::Tensor& out, const torch::Tensor& y);

}  // namespace charnn
