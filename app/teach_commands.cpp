// `charnn shapes` and `charnn batches`: the teaching room (train/teach/) printed.
#include <fmt/format.h>

#include <filesystem>

#include "app/commands.h"
#include "common/error.h"
#include "models/registry.h"
#include "train/teach/lesson_batch.h"
#include "train/teach/shape_walk.h"

namespace charnn::cli {
namespace {

teach::LessonDataOptions data_options(const std::string& text, int64_t max_chars, uint64_t seed, int64_t bs) {
  return {std::filesystem::absolute(resolve_text(text)).lexically_normal().string(), max_chars, seed, bs};
}

}  // namespace

int run_shapes(const ShapesArgs& a) {
  teach::known_model(a.model);  // before the text is read
  const auto walk = teach::lesson_walk(a.model, data_options(a.text, a.max_chars, a.seed, a.bs));
  fmt::print("{}", a.json ? teach::walk_json(walk) : teach::walk_text(walk));
  return 0;
}

int run_batches(const BatchesArgs& a) {
  teach::known_model(a.model);  // before the text is read
  const auto rows = teach::first_rows(a.model, data_options(a.text, a.max_chars, a.seed, a.bs), a.rows);
  fmt::print("{}", a.json ? teach::rows_json(rows) : teach::rows_text(rows));
  return 0;
}

}  // namespace charnn::cli
