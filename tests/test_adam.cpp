// charnn::Adam against torch::optim::Adam, the update it replaces: the same bits, step after step.
// (The trajectory tests then hold charnn::Adam to the Python twin's optimizer.)
#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

#include "train/adam.h"

using namespace charnn;

namespace {

bool same_bits(const torch::Tensor& a, const torch::Tensor& b) {
  return a.sizes() == b.sizes() && std::memcmp(a.data_ptr<float>(), b.data_ptr<float>(), a.numel() * sizeof(float)) == 0;
}

const torch::optim::AdamParamState& state_of(torch::optim::Adam& opt, const torch::Tensor& p) {
  return static_cast<const torch::optim::AdamParamState&>(*opt.state().at(optimizer_state_key(p)));
}

}  // namespace

TEST_CASE("Adam: charnn's two-pass update is torch::optim::Adam's bit for bit", "[train][adam]") {
#if defined(__x86_64__)
  // On x86-64 both LibTorch builds have a kernel that matches; without one this test would only
  // compare torch::optim::Adam with itself.
  CHECK(Adam::kernel() != AdamKernel::aten);
#endif
  INFO("kernel: " << to_string(Adam::kernel()));
  for (const double wd : {0.0, 1e-5}) {
    INFO("weight decay " << wd);
    torch::manual_seed(7);
    // Sizes with and without a vector tail; values over five decades, as trained weights have.
    std::vector<torch::Tensor> ours, theirs;
    for (const int64_t n : {1, 7, 56, 2352, 4099, 65537}) {
      const auto start = torch::randn({n}) * torch::pow(10.0, torch::randint(-4, 1, {n}).to(torch::kFloat));
      ours.push_back(start.clone().requires_grad_());
      theirs.push_back(start.clone().requires_grad_());
    }
    ours.push_back(torch::randn({56, 512}).requires_grad_());  // a 2-D parameter, l_out's shape
    theirs.push_back(ours.back().detach().clone().requires_grad_());
    const auto options = torch::optim::AdamOptions(1e-2).weight_decay(wd);
    Adam opt(ours, options);
    torch::optim::Adam reference(theirs, options);
    for (int step = 1; step <= 12; ++step) {
      INFO("step " << step);
      if (step == 7) {  // set_lrs, as fit calls and CosAnneal change the rate between steps
        for (auto* o : {static_cast<torch::optim::Optimizer*>(&opt), static_cast<torch::optim::Optimizer*>(&reference)}) {
          static_cast<torch::optim::AdamOptions&>(o->param_groups()[0].options()).lr(3e-3);
        }
      }
      for (size_t i = 0; i < ours.size(); ++i) {
        const auto grad = torch::randn(ours[i].sizes()) * torch::pow(10.0, torch::randint(-6, 0, ours[i].sizes()).to(torch::kFloat));
        ours[i].mutable_grad() = grad.clone();
        theirs[i].mutable_grad() = grad.clone();
      }
      opt.step();
      reference.step();
      for (size_t i = 0; i < ours.size(); ++i) {
        INFO("parameter of " << ours[i].numel() << " values");
        CHECK(same_bits(ours[i], theirs[i]));
        CHECK(ours[i]._version() == theirs[i]._version());  // autograd sees the change as LibTorch's
        CHECK(state_of(opt, ours[i]).step() == state_of(reference, theirs[i]).step());
        CHECK(same_bits(state_of(opt, ours[i]).exp_avg(), state_of(reference, theirs[i]).exp_avg()));
        CHECK(same_bits(state_of(opt, ours[i]).exp_avg_sq(), state_of(reference, theirs[i]).exp_avg_sq()));
      }
    }
  }
}

TEST_CASE("Adam: a parameter it cannot fuse takes torch::optim::Adam's own step", "[train][adam]") {
  torch::manual_seed(8);
  const auto start = torch::randn({5, 6}).t();
  auto ours = start.clone().requires_grad_();  // clone keeps the transposed layout: not contiguous
  auto theirs = start.contiguous().requires_grad_();
  REQUIRE_FALSE(ours.is_contiguous());
  Adam opt({ours}, torch::optim::AdamOptions(1e-2));
  torch::optim::Adam reference({theirs}, torch::optim::AdamOptions(1e-2));
  for (int step = 0; step < 3; ++step) {
    const auto grad = torch::randn({6, 5});
    ours.mutable_grad() = grad.clone();
    theirs.mutable_grad() = grad.clone();
    opt.step();
    reference.step();
  }
  CHECK(torch::equal(ours, theirs));
}
