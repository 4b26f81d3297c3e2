// CosAnneal against the schedule of docs/lesson-semantics.md §10.2 (nb = 963, cycle_mult 2): the
// warm-up, the cosine over whole cycles of len(trn_dl) iterations, the cycle ends, and a
// resumed fit call continuing the rates exactly.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "train/cos_anneal.h"
#include "train/learning_rate.h"

using namespace charnn;

TEST_CASE("CosAnneal: the notebook's schedule for nb 963, cycle_mult 2", "[train][cos_anneal]") {
  CosAnneal schedule(0.01, 963, 2);
  std::vector<double> lr;
  std::vector<int64_t> ends, cycles;
  for (int64_t k = 0; k < 14445; ++k) {
    const auto rate = schedule.calc_lr();
    lr.push_back(rate.lr);
    if (rate.finished_cycle >= 0) {
      ends.push_back(k);
      cycles.push_back(rate.finished_cycle);
    }
  }
  for (int64_t k = 0; k <= 48; ++k) CHECK(lr[k] == 1e-4);
  // docs/lesson-semantics.md §10.2 gives seven decimals: within half a unit of the last.
  CHECK(lr[49] == Approx(0.0099363).epsilon(0).margin(5e-8));
  CHECK(lr[481] == Approx(0.0050082).epsilon(0).margin(5e-8));
  CHECK(lr[962] == Approx(2.66e-8).epsilon(1e-2));
  CHECK(lr[963] == 0.01);   // cycle 2 restarts at init, no warm-up
  CHECK(lr[2889] == 0.01);  // cycle 3
  CHECK(lr[6741] == 0.01);  // cycle 4
  // Each cycle ends while the rate of its last batch is computed.
  CHECK(ends == std::vector<int64_t>{962, 2888, 6740, 14444});
  CHECK(cycles == std::vector<int64_t>{0, 1, 2, 3});
}

TEST_CASE("CosAnneal: warm-up only at a new schedule's start, cycle_mult 1 keeps the length", "[train][cos_anneal]") {
  CosAnneal schedule(1.0, 40, 1);
  std::vector<double> lr;
  for (int k = 0; k < 120; ++k) lr.push_back(schedule.calc_lr().lr);
  CHECK(lr[0] == 0.01);
  CHECK(lr[1] == 0.01);  // k < 40/20
  CHECK(lr[2] == Approx(0.5 * (std::cos(M_PI * 2 / 40) + 1)));
  CHECK(lr[40] == 1.0);
  CHECK(lr[41] == Approx(0.5 * (std::cos(M_PI / 40) + 1)));
  CHECK(lr[80] == 1.0);
  CHECK_THROWS(CosAnneal(1.0, 0, 1));
}

TEST_CASE("CosAnneal: through LearningRate, a resumed fit continues the rates and cycle ends", "[train][cos_anneal]") {
  std::vector<int64_t> saved;
  auto whole = LearningRate::cos_anneal(1.0, 10, 2);
  auto rate = whole.begin(0);
  std::vector<double> rates{rate.lr};
  for (int64_t b = 0; b < 29; ++b) {
    rate = whole.after_batch();
    if (rate.finished_cycle >= 0) saved.push_back(rate.finished_cycle);
    rates.push_back(rate.lr);
  }
  CHECK(saved == std::vector<int64_t>{0, 1});  // ended by calls 9 and 29
  CHECK(whole.last() == rates.back());

  // Stopped after 14 batches, then resumed by a fresh schedule.
  std::vector<int64_t> resumed_saved;
  auto resumed = LearningRate::cos_anneal(1.0, 10, 2);
  CHECK(resumed.begin(14).lr == rates[14]);
  for (int64_t b = 14; b < 29; ++b) {
    const auto r = resumed.after_batch();
    if (r.finished_cycle >= 0) resumed_saved.push_back(r.finished_cycle);
    CHECK(r.lr == rates[b + 1]);
  }
  CHECK(resumed_saved == std::vector<int64_t>{1});
  CHECK(LearningRate::constant(0.25).begin(7).lr == 0.25);
}
