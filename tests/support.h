#pragma once
// Where the tests find the corpus and the Python reference.
#include <cstdlib>
#include <filesystem>
#include <string>

namespace charnn::test {

// $CHARNN_TEXT, else the gitignored data/nietzsche.txt that setup provides.
inline std::filesystem::path nietzsche_path() {
  if (const char* env = std::getenv("CHARNN_TEXT"); env && *env) return env;
  return std::filesystem::path(CHARNN_SOURCE_DIR) / "data" / "nietzsche.txt";
}

inline std::string torch_python() { return CHARNN_TORCH_PYTHON; }

}  // namespace charnn::test
