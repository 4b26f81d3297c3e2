#pragma once
// Lines for the user on stderr. A stderr that is closed or full (2>/dev/full) must never turn
// a finished run or a clean error into an abort: what cannot be written is dropped, and the
// exit status still says how the run ended.
#include <cstdio>
#include <string_view>

namespace charnn {

inline void note(std::string_view text, std::FILE* to = stderr) {
  if (std::fwrite(text.data(), 1, text.size(), to) != text.size()) std::clearerr(to);
  if (std::fflush(to) != 0) std::clearerr(to);
}

}  // namespace charnn
