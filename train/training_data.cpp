#include "train/training_data.h"

#include <fmt/format.h>

#include "common/error.h"

namespace charnn {

const c10::IValue& state_entry(const DataState& state, const char* key) {
  const auto it = state.find(key);
  if (it == state.end()) throw InputError(fmt::format("'data.{}' is missing", key));
  return it->value();
}

}  // namespace charnn
