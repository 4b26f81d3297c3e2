#pragma once
// The project's one exception type, for everything a user can get wrong or the machine can refuse
// (a flag, a file, a disk that fills): the CLI prints `what()` as the single error line, so each
// message names the input and the problem without a stack of prefixes.
#include <stdexcept>
#include <string>

namespace charnn {

struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace charnn
