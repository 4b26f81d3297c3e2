#include "train/schedule.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "common/error.h"

namespace charnn {
namespace {

// The whole of text as an integer, or nothing.
bool whole_integer(std::string_view text, int64_t& out) {
  if (text.empty()) return false;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size();
}

bool whole_number(std::string_view text, double& out) {
  if (text.empty() || text.front() == ' ') return false;
  const std::string copy(text);
  char* end = nullptr;
  out = std::strtod(copy.c_str(), &end);
  return end == copy.c_str() + copy.size();
}

// The problem with one call, or nothing.
std::string problem_with(const FitCall& call) {
  if (call.epochs < 1) return fmt::format("epochs must be >= 1, got {}", call.epochs);
  if (!call.lr_from_previous && !(call.lr > 0 && std::isfinite(call.lr))) {
    return fmt::format("learning rate must be a finite number > 0, got {}", call.lr);
  }
  if (call.kind == FitCall::Kind::CosAnneal && (call.cycle_mult < 1 || call.cycle_mult > kMaxCycleMult)) {
    return fmt::format("the cycle multiplier must be from 1 to {}, got {}", kMaxCycleMult, call.cycle_mult);
  }
  return {};
}

}  // namespace

bool FitCall::operator==(const FitCall& o) const {
  return epochs == o.epochs && lr_from_previous == o.lr_from_previous && (lr_from_previous || lr == o.lr) &&
         kind == o.kind && (kind != Kind::CosAnneal || cycle_mult == o.cycle_mult);
}

FitCall parse_fit(std::string_view spec) {
  const auto malformed = [&spec] {
    return InputError(fmt::format("--fit {}: expected EPOCHS@LR, e.g. 4@1e-3, or EPOCHS@LR:cosM (CosAnneal, LR "
                                  "may be 'prev'), e.g. 15@1e-2:cos2",
                                  spec));
  };
  const auto at = spec.find('@');
  const auto colon = spec.find(':');
  if (at == std::string_view::npos || (colon != std::string_view::npos && colon < at)) throw malformed();
  const auto lr_end = colon == std::string_view::npos ? spec.size() : colon;
  FitCall call{0, 0};
  if (!whole_integer(spec.substr(0, at), call.epochs)) throw malformed();
  const auto lr = spec.substr(at + 1, lr_end - at - 1);
  if (lr == "prev") {
    call.lr_from_previous = true;
  } else if (!whole_number(lr, call.lr)) {
    throw malformed();
  }
  if (colon != std::string_view::npos) {
    const auto kind = spec.substr(colon + 1);
    if (kind.substr(0, 3) != "cos") throw malformed();
    call.kind = FitCall::Kind::CosAnneal;
    call.cycle_mult = 1;  // fastai's default
    const auto digits = kind.substr(3);
    if (!digits.empty() && (digits.find_first_not_of("0123456789") != std::string_view::npos ||
                            !whole_integer(digits, call.cycle_mult))) {
      throw malformed();
    }
  }
  if (const auto problem = problem_with(call); !problem.empty()) {
    throw InputError(fmt::format("--fit {}: {}", spec, problem));
  }
  return call;
}

std::string describe(const FitCall& call) {
  const auto lr = call.lr_from_previous ? std::string("prev") : fmt::format("{}", call.lr);
  if (call.kind == FitCall::Kind::CosAnneal) return fmt::format("{}@{}:cos{}", call.epochs, lr, call.cycle_mult);
  return fmt::format("{}@{}", call.epochs, lr);
}

void check_schedule(const std::vector<FitCall>& schedule, std::string_view source) {
  if (schedule.empty()) {
    throw InputError(fmt::format("{} is empty; a run has at least one fit call, e.g. --fit 4@1e-3", source));
  }
  for (size_t i = 0; i < schedule.size(); ++i) {
    if (const auto problem = problem_with(schedule[i]); !problem.empty()) {
      throw InputError(fmt::format("{}: fit call {} ({}): {}", source, i + 1, describe(schedule[i]), problem));
    }
  }
  if (schedule.front().lr_from_previous) {
    throw InputError(
        fmt::format("{}: the first fit call has no previous rate to start from; give it a number", source));
  }
}

nlohmann::json to_json(const FitCall& f) {
  nlohmann::json call = {{"epochs", f.epochs}, {"lr", f.lr}};
  if (f.lr_from_previous) call["lr"] = "prev";
  if (f.kind == FitCall::Kind::CosAnneal) {
    call["kind"] = "cos_anneal";
    call["cycle_mult"] = f.cycle_mult;
  } else {
    call["kind"] = "constant";
  }
  return call;
}

FitCall fit_call_from_json(const nlohmann::json& f) {
  const auto integer = [&f](const char* key) {
    const auto& v = f.at(key);
    if (!v.is_number_integer()) throw InputError(fmt::format("'{}' must be an integer, got {}", key, v.dump()));
    return v.get<int64_t>();
  };
  FitCall call{integer("epochs"), 0.0};
  if (call.epochs < 1) throw InputError(fmt::format("'epochs' must be an integer >= 1, got {}", call.epochs));
  const auto& lr = f.at("lr");
  if (lr.is_string() && lr.get<std::string>() == "prev") {
    call.lr_from_previous = true;
  } else if (lr.is_number() && lr.get<double>() > 0 && std::isfinite(lr.get<double>())) {
    call.lr = lr.get<double>();
  } else {
    throw InputError(fmt::format("'lr' must be a finite number > 0, got {}", lr.dump()));
  }
  // Runs saved before schedules had kinds hold {"epochs", "lr"}: constant calls.
  const auto kind = f.contains("kind") ? f.at("kind") : nlohmann::json("constant");
  if (kind == "cos_anneal") {
    call.kind = FitCall::Kind::CosAnneal;
    call.cycle_mult = integer("cycle_mult");
    if (call.cycle_mult < 1 || call.cycle_mult > kMaxCycleMult) {
      throw InputError(fmt::format("'cycle_mult' must be from 1 to {}, got {}", kMaxCycleMult, call.cycle_mult));
    }
  } else if (kind != "constant") {
    throw InputError(fmt::format("'kind' must be \"constant\" or \"cos_anneal\", got {}", kind.dump()));
  }
  if (const auto problem = problem_with(call); !problem.empty()) throw InputError(problem);
  return call;
}

}  // namespace charnn
