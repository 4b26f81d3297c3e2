#pragma once
// The schedule of a run: the fit calls the notebook makes one after another (`fit(m, md, 4,
// opt, F.nll_loss)`, then `set_lrs(opt, 1e-4)` and another fit, or the LSTM's
// `fit(..., callbacks=[CosAnneal(...)])`). This header is the one place a fit call is parsed
// from `--fit`, spelled back, checked and stored in config.json.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace charnn {

// One fit call of the schedule: `--fit EPOCHS@LR[:cosM]`.
struct FitCall {
  int64_t epochs;
  double lr;  // ignored when lr_from_previous
  // The rate through the call: constant (set_lrs before it), or fastai's CosAnneal(lo,
  // len(trn_dl), cycle_mult) started from lr, which writes cyc_N.pt at each cycle's end.
  enum class Kind { Constant, CosAnneal } kind = Kind::Constant;
  int64_t cycle_mult = 1;
  // LR given as "prev": start from the rate the previous call left (lo.lrs), as the notebook's
  // second CosAnneal does (docs/lesson-semantics.md §10.2, quirk 3).
  bool lr_from_previous = false;
  bool operator==(const FitCall& o) const;
};

// CosAnneal's cycle multiplier: each cycle is this many times the last; beyond a million the
// second cycle alone would outlast any run.
constexpr int64_t kMaxCycleMult = 1000000;

// "4@1e-3" -> {4, 1e-3}; "15@1e-2:cos2", "63@prev:cos2". Throws InputError naming `--fit SPEC`.
FitCall parse_fit(std::string_view spec);
// The call as --fit spells it: "4@0.001", "15@0.01:cos2", "63@prev:cos2".
std::string describe(const FitCall& call);
// Throws InputError, naming `source` ("--fit", "'schedule'"), unless the schedule is one charnn
// runs: at least one call, epochs >= 1, a finite rate > 0 or "prev" (not first), a cycle
// multiplier from 1 to kMaxCycleMult.
void check_schedule(const std::vector<FitCall>& schedule, std::string_view source);

// config.json's form: {"epochs", "lr" (a number or "prev"), "kind" ("constant" or
// "cos_anneal"), "cycle_mult" (cos_anneal only)}.
nlohmann::json to_json(const FitCall& call);
// Throws InputError naming the field on anything malformed.
FitCall fit_call_from_json(const nlohmann::json& j);

}  // namespace charnn
