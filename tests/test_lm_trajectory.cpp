// Training-trajectory parity of the stateful models: from the same initial weights, numpy
// seed and dropout seed, the C++ fit over LanguageModelData reproduces every per-batch loss,
// learning rate, cycle end and epoch row of the Python twin (notebooks-ref/
// stateful_trajectory.py, part "stateful_trajectory" of notebooks-ref/export.py), and ends on the
// same weights, for every stateful model of the registry. The run crosses epoch boundaries,
// validates in between with the state carried through, trains with weight decay (the LSTM) and
// switches to CosAnneal for its second call.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "data/language_model_data.h"
#include "data/lesson_data.h"
#include "reference.h"
#include "support.h"
#include "train/adam.h"
#include "train/cos_anneal.h"
#include "train/io/checkpoint.h"
#include "train/families/language_model.h"
#include "train/fit.h"
#include "common/threads.h"

using namespace charnn;

namespace {

struct RecordBatches : FitObserver {
  void on_batch_end(const BatchEvent& e) override {
    losses.push_back(e.loss);
    rates.push_back(e.lr);
  }
  void on_cycle_end(int64_t cycle) override { cycle_ends.emplace_back(losses.size(), cycle); }
  std::vector<double> losses, rates;
  std::vector<std::pair<size_t, int64_t>> cycle_ends;
};

// All four reproduce the twin exactly (the LSTM since its l_out computes as Python's nn.Linear:
// models/char_seq_rnn.cpp says why); the bounds leave room for nothing but a last-place
// difference, and a wrong dropout mask, weight decay or rate moves the losses by 1e-2 or more.
constexpr double kWeightTolerance = 1e-5;

void check_lm_trajectory(const std::string& name) {
  const auto& ref = test::reference_json("stateful_trajectory", name + "/trajectory.json");

  const auto corpus = truncate_corpus(load_corpus(test::nietzsche_path()), ref.at("chars").get<int64_t>());
  const auto seed = ref.at("seed").get<uint32_t>();
  auto md = from_text_files(split_lines(corpus.text, ref.at("trn_lines").get<int64_t>(), corpus.name),
                            std::make_shared<NumpyRandomState>(seed));
  REQUIRE(md.nt == ref.at("nt").get<int64_t>());
  REQUIRE(md.trn_dl.size() == ref.at("len_trn_dl").get<int64_t>());
  const auto& spec = find_model(name);
  ModelConfig config;
  config.model = name;
  config.vocab_size = md.nt;
  config.n_hidden = spec.lesson_n_hidden;
  auto model = make_model(config);
  load_state_dict(*model.module, test::reference_file("stateful_trajectory", name + "/init.pt"));
  const double lr = ref.at("lr").get<double>();
  auto opt = find_optimizer("adam").make(model.module->parameters(), lr, ref.at("weight_decay").get<double>());

  // The twin runs on one thread; so does this, so that no sum is cut differently.
  const ScopedThreads one_thread({1, -1});
  torch::manual_seed(ref.at("dropout_seed").get<uint64_t>());
  RecordBatches record;
  const auto np_random = md.np_random;
  const auto nb = md.trn_dl.size();
  auto data = language_model_training(std::move(md));
  auto constant = LearningRate::constant(lr);
  auto rows = fit(model, *data, ref.at("constant_epochs").get<int64_t>(), *opt, constant, {&record}).state.rows;
  auto cos = LearningRate::cos_anneal(lr, nb, ref.at("cycle_mult").get<int64_t>());
  const auto cos_rows = fit(model, *data, ref.at("cos_epochs").get<int64_t>(), *opt, cos, {&record}).state.rows;
  rows.insert(rows.end(), cos_rows.begin(), cos_rows.end());
  const auto& cycle_ends = record.cycle_ends;

  const auto losses = ref.at("losses").get<std::vector<double>>();
  const auto rates = ref.at("rates").get<std::vector<double>>();
  REQUIRE(losses.size() >= 50);
  REQUIRE(record.losses.size() == losses.size());
  double worst = 0, worst_rate = 0;
  for (size_t i = 0; i < losses.size(); ++i) {
    worst = std::max(worst, std::abs(record.losses[i] - losses[i]));
    worst_rate = std::max(worst_rate, std::abs(record.rates[i] - rates[i]) / rates[i]);
  }
  INFO(name << ": " << losses.size() << " steps, worst loss difference " << worst);
  CHECK(worst <= test::kParityTolerance);
  CHECK(worst_rate <= 1e-12);
  CHECK(std::abs(cos.last() - ref.at("last_lr").get<double>()) <= 1e-12 * ref.at("last_lr").get<double>());
  const auto ends = ref.at("cycle_ends");
  REQUIRE(cycle_ends.size() == ends.size());
  for (size_t i = 0; i < ends.size(); ++i) {
    CHECK(cycle_ends[i].first == ends[i][0].get<size_t>());
    CHECK(cycle_ends[i].second == ends[i][1].get<int64_t>());
  }
  const auto ref_rows = ref.at("rows");
  REQUIRE(rows.size() == ref_rows.size());
  for (size_t e = 0; e < rows.size(); ++e) {
    CHECK(rows[e].epoch == ref_rows[e][0].get<int64_t>());
    CHECK(std::abs(rows[e].trn_loss - ref_rows[e][1].get<double>()) <= test::kParityTolerance);
    CHECK(std::abs(rows[e].val_loss - ref_rows[e][2].get<double>()) <= test::kParityTolerance);
  }
  // The numpy stream ends where Python's does, in np.random.get_state()'s terms.
  const auto np_state = np_random->state();
  const auto& ref_np = ref.at("numpy_state");
  CHECK(np_state.key == ref_np.at("key").get<std::vector<uint32_t>>());
  CHECK(np_state.pos == ref_np.at("pos").get<int64_t>());
  CHECK(np_state.has_gauss == ref_np.at("has_gauss").get<bool>());
  CHECK(np_state.gauss == ref_np.at("gauss").get<double>());
  const auto final_weights = test::reference_tensors("stateful_trajectory", name + "/final.pt");
  double worst_weight = 0;
  for (const auto& item : model.module->named_parameters()) {
    worst_weight = std::max(worst_weight, (item.value() - final_weights.at(item.key())).abs().max().item<double>());
  }
  CHECK(worst_weight <= kWeightTolerance);
  WARN(name << ": " << losses.size() << " steps, worst loss difference " << worst << ", worst weight difference "
            << worst_weight);
}

}  // namespace

TEST_CASE("stateful trajectory parity with the Python twin", "[python][trajectory][stateful]") {
  for (const auto& spec : model_registry()) {
    if (!spec.is_stateful()) continue;  // test_trajectory.cpp
    for (const auto& run : test::cases_of(test::kStatefulTrajectoryRuns, spec.name)) {
      const auto name = run.at("case").get<std::string>();
      SECTION(name) { check_lm_trajectory(name); }
    }
  }
}
