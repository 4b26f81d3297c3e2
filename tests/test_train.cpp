// The trainer's fastai semantics (docs/lesson-semantics.md §6, §8) and a smoke run of every
// registered model.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <optional>

#include "data/split.h"
#include "models/fused/fast_paths.h"
#include "train/families/family.h"
#include "train/families/windows.h"
#include "train/fit.h"
#include "train/loss.h"
#include "train/report.h"
#include "train/sharded_step.h"
#include "support.h"
#include "data/lesson_data.h"
#include "model_table.h"

using namespace charnn;

TEST_CASE("epoch rows print as the notebook printed them", "[train][report]") {
  CHECK(format_epoch_row({0, 2.096268, 6.528491}) == "[ 0.       2.09627  6.52849]");
  CHECK(format_epoch_row({3, 1.529891, 1.549421}) == "[ 3.       1.52989  1.54942]");
  CHECK(format_epoch_row({1, 1.464821, 1.503901}) == "[ 1.       1.46482  1.5039 ]");
  CHECK(format_epoch_row({10, 1.420271, 1.390281}) == "[ 10.        1.42027   1.39028]");
}

TEST_CASE("nll_loss_seq flattens the targets sequence-major", "[train][loss]") {
  // Position (t, b) predicts class t*2+b with certainty; targets are given [B, seq].
  const int64_t sl = 3, bs = 2, nh = 6;
  auto inp = torch::full({sl, bs, nh}, -30.0);
  for (int64_t t = 0; t < sl; ++t)
    for (int64_t b = 0; b < bs; ++b) inp[t][b][t * bs + b] = 0.0;
  auto targ = torch::tensor({0, 2, 4, 1, 3, 5}, torch::kInt64).view({bs, sl});
  CHECK(nll_loss_seq(inp, targ).item<double>() == Approx(0.0).margin(1e-9));
  CHECK(nll_loss_seq(inp, targ.t().contiguous().view({bs, sl})).item<double>() > 1.0);
}

// fastai 0.7's fit: avg_loss = avg_loss*0.98 + loss*0.02; debias_loss = avg_loss/(1-0.98**batch_num).
// The expected values were computed by hand from that recurrence for raw losses 4, 3, 2, 2.5, and
// FitState is fed the avg_loss fit() keeps (the whole-run check is the trajectory test, which
// compares fit's epoch rows with the Python twin's fit).
TEST_CASE("fit: smoothed loss is fastai's debiased EMA across the fit call", "[train][fit]") {
  struct Step {
    double avg_loss, smoothed;
  };
  const Step steps[] = {{0.08, 4.0}, {0.1384, 3.4949494949494877}, {0.175632, 2.9865324445653614},
                        {0.22211936, 2.8611889142393077}};
  FitState s;
  CHECK(s.smoothed() == 0.0);  // before the first batch
  for (const auto& step : steps) {
    ++s.batches_seen;
    s.avg_loss = step.avg_loss;
    CHECK(s.smoothed() == Approx(step.smoothed).epsilon(1e-12));
  }
}

TEST_CASE("set_lrs changes the rate and keeps Adam's moments and step count", "[train][fit]") {
  // Two Adam steps on sum(w^2), the second after set_lrs; the expected values follow
  // torch.optim.Adam's update with the moments and step count carried over.
  auto w = torch::tensor({0.5, -1.5, 2.0}, torch::TensorOptions().dtype(torch::kFloat64).requires_grad(true));
  auto opt = find_optimizer("adam").make({w}, 1e-2, 0.0);
  auto step = [&] {
    opt->torch().zero_grad();
    (w * w).sum().backward();
    opt->torch().step();
  };
  auto p = w.detach().clone();
  step();
  set_lrs(*opt, 1e-4);
  step();
  CHECK(current_lr(*opt) == 1e-4);

  const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
  auto g = 2 * p;
  auto m = (1 - b1) * g, v = (1 - b2) * g * g;
  p = p - 1e-2 * (m / (1 - b1)) / ((v / (1 - b2)).sqrt() + eps);
  g = 2 * p;
  m = b1 * m + (1 - b1) * g;
  v = b2 * v + (1 - b2) * g * g;
  p = p - 1e-4 * (m / (1 - b1 * b1)) / ((v / (1 - b2 * b2)).sqrt() + eps);
  CHECK(torch::allclose(w.detach(), p, 0, 1e-12));
}

namespace {

struct Track : FitObserver {
  int64_t steps = 0;
  double first = 0;
  void on_batch_end(const BatchEvent& e) override {
    if (steps++ == 0) first = e.loss;
  }
};

// One smoke run: Adam at a constant rate for some epochs from seed 0, on the family's data
// (the lesson's batch size and defaults) of the corpus's first 200 000 characters.
struct Smoke {
  double lr;
  int64_t epochs;
  double bound;           // the smoothed training loss (and the validation loss) must end below this
  double first_above;     // the first batch's loss must be above this: an untrained model's is about ln(vocab)
  bool check_val = true;  // false where validation is one row, which is noise
};

// Each registered model's runs: as it is, and from identity init where the lesson trains it so.
struct SmokeRuns {
  Smoke plain;
  std::optional<Smoke> identity;
};

// A registered model without an entry fails the smoke test, so whoever adds one gives its numbers.
const test::ModelTable<SmokeRuns>& smoke_table() {
  static const test::ModelTable<SmokeRuns> table = {
      {"char3-model", {{1e-2, 2, 2.6, 4.0, false}, {}}},
      {"char-loop-model", {{1e-2, 1, 2.6, 4.0}, {}}},
      {"char-loop-concat-model", {{1e-3, 1, 2.6, 4.0}, {}}},
      {"char-rnn", {{1e-3, 1, 2.6, 4.0}, {}}},
      {"char-seq-rnn", {{1e-3, 4, 2.9, 4.0}, Smoke{1e-2, 4, 2.6, 4.0}}},
      {"char-seq-stateful-rnn", {{1e-3, 1, 2.6, 3.5}, {}}},
      {"char-seq-stateful-rnn2", {{1e-3, 1, 2.6, 3.5}, {}}},
      {"char-seq-stateful-gru", {{1e-3, 1, 2.6, 3.5}, {}}},
      {"char-seq-stateful-lstm", {{1e-2, 1, 2.6, 3.5}, {}}},
  };
  return table;
}

const SmokeRuns& smoke_runs(const ModelSpec& spec) {
  return test::model_entry(smoke_table(), spec.name, "smoke_table() of tests/test_train.cpp",
                           "give the rate, epochs and loss bound of its smoke run");
}

void smoke_run(const Corpus& corpus, const ModelSpec& spec, const Smoke& s, bool identity) {
  RunConfig config;
  config.model.model = std::string(spec.name);
  config.model.n_hidden = spec.lesson_n_hidden;
  config.model.identity_init = identity;
  config.bs = spec.lesson_bs;
  auto data = family_of(spec).prepare(corpus, config, torch::kCPU, local_shard());
  torch::manual_seed(0);
  auto model = make_model(config.model);
  // As `charnn train` runs it by default; the plain layers have the parity tests.
  fused::use_fused_layers(model);
  auto opt = find_optimizer("adam").make(model.module->parameters(), s.lr, 0.0);
  auto lr = LearningRate::constant(s.lr);
  Track track;
  const auto result = fit(model, *data, s.epochs, *opt, lr, {&track});
  const auto& last = result.state.rows.back();
  INFO(spec.name << ": " << track.steps << " batches, first loss " << track.first << ", smoothed "
                 << result.state.smoothed() << ", val " << last.val_loss);
  CHECK(track.first > s.first_above);
  CHECK(track.steps >= 150);
  CHECK(last.trn_loss < s.bound);
  if (s.check_val) CHECK(last.val_loss < s.bound);
  WARN(spec.name << (identity ? " identity" : "") << ": " << track.steps << " batches, smoothed " << last.trn_loss
                 << ", val " << last.val_loss);
}

}  // namespace

// A few hundred batches of each model on the corpus's first 200 000 characters must take
// the loss from about ln(vocabulary) to below a bound well under what an untrained model gives.
TEST_CASE("smoke: every lesson model learns", "[train][smoke]") {
  const auto corpus = truncate_corpus(load_corpus(test::nietzsche_path()), 200000);
  for (const auto& spec : model_registry()) {
    const auto& runs = smoke_runs(spec);
    SECTION(std::string(spec.name)) { smoke_run(corpus, spec, runs.plain, false); }
    if (runs.identity) {
      SECTION(std::string(spec.name) + " identity") { smoke_run(corpus, spec, *runs.identity, true); }
    }
  }
}

TEST_CASE("fit: a non-finite loss stops before the step, naming epoch and batch", "[train][fit]") {
  auto corpus = corpus_from_utf8("the quick brown fox jumps over the lazy dog. the end.", "tiny");
  auto md = lesson_data(corpus, Layout::Overlapping, 8, 8);
  auto model = make_model({"char-rnn", corpus.vocab.size(), 4, 8, false});
  {
    torch::NoGradGuard no_grad;
    model.module->named_parameters()["l_out.bias"].fill_(std::nan(""));
  }
  const auto before = model.module->named_parameters()["e.weight"].clone();
  auto opt = find_optimizer("adam").make(model.module->parameters(), 1e-3, 0.0);
  auto data = windowed_training(std::move(md), LossKind::Nll, 1);
  auto lr = LearningRate::constant(1e-3);
  CHECK_THROWS_WITH(fit(model, *data, 1, *opt, lr),
                    Catch::Matchers::Contains("training loss is nan at epoch 0, batch 0 (step 1"));
  CHECK(torch::equal(before, model.module->named_parameters()["e.weight"]));
}
