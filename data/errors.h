#pragma once
// One exception type for everything a user can get wrong about their input, so the CLI
// can print `what()` as the single error line without a stack of prefixes.
#include <stdexcept>
#include <string>

namespace charnn {

struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace charnn
