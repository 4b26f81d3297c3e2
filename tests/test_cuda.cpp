// The lesson models on a CUDA device against PyTorch on the same device: cuBLAS and cuDNN
// round differently from the CPU's kernels, so parity is to a tolerance, not exact.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <algorithm>

#include "cuda_skip.h"
#include "data/layouts.h"
#include "models/registry.h"
#include "reference.h"
#include "train/io/checkpoint.h"
#include "train/loss.h"

using namespace charnn;

namespace {

// Targets of a batch of bs windows of cs characters, in the shape the model's loss takes.
torch::Tensor random_targets(const ModelSpec& spec, int64_t vocab_size, int64_t cs, int64_t bs) {
  switch (spec.layout) {
    case Layout::Sequences:
      return torch::randint(0, vocab_size, {bs, cs}, torch::kInt64);
    case Layout::LanguageModel:
      return torch::randint(0, vocab_size, {cs * bs}, torch::kInt64);  // F.nll_loss on the flattened [sl*bs]
    default:
      return torch::randint(0, vocab_size, {bs}, torch::kInt64);
  }
}

}  // namespace

TEST_CASE("cuda: forward and one Adam step match PyTorch on the GPU", "[cuda][python]") {
  CHARNN_REQUIRE_CUDA();
  test::TempDir dir("cuda_step");
  const torch::Device cuda(torch::kCUDA);
  for (const auto& spec : model_registry()) {
    const std::string name(spec.name);
    INFO(name);
    torch::manual_seed(11);
    ModelConfig config;
    config.model = name;
    config.n_hidden = 64;
    config.dropout = 0;  // the LSTM's: the two libraries would not draw the same masks
    auto model = make_model(config);
    const int64_t cs = default_window(spec.layout), bs = 32;
    const auto xs = torch::randint(0, config.vocab_size, {cs, bs}, torch::kInt64);
    const auto y = random_targets(spec, config.vocab_size, cs, bs);
    save_state_dict(*model.module, dir / "model.pt");
    write_tensor_dict({{"xs", xs}, {"y", y}}, dir / "input.pt");
    const auto run = test::run_python("cuda_step.py", {"--model", name, "--state", (dir / "model.pt").string(),
                                                       "--input", (dir / "input.pt").string(),
                                                       "--out", (dir / "out.pt").string(), "--dropout", "0"});
    INFO(run.output);
    REQUIRE(run.status == 0);
    const auto want = read_tensor_dict(dir / "out.pt");

    model.module->to(cuda);
    model.module->train();
    torch::optim::Adam opt(model.module->parameters(), torch::optim::AdamOptions(1e-3));
    const auto out = model.forward(xs.to(cuda));
    const auto loss = lesson_loss(spec.loss, out, y.to(cuda));
    opt.zero_grad();
    loss.backward();
    opt.step();
    const auto out_diff = test::max_abs_diff(out.detach().cpu(), want.at("out"));
    const auto loss_diff = test::max_abs_diff(loss.detach().cpu(), want.at("loss"));
    double step_diff = 0;
    for (const auto& item : model.module->named_parameters()) {
      INFO(item.key());
      REQUIRE(want.count("p." + item.key()) == 1);
      step_diff = std::max(step_diff, test::max_abs_diff(item.value().detach().cpu(), want.at("p." + item.key())));
    }
    fmt::print("{:<24} cuda forward / loss / after one step: max |C++ - Python| = {:.3g} / {:.3g} / {:.3g}\n", name,
               out_diff, loss_diff, step_diff);
    CHECK(out_diff <= 1e-5);
    CHECK(loss_diff <= 1e-5);
    CHECK(step_diff <= 1e-5);
  }
}
