#pragma once
// The lesson's data as `charnn shapes` and `charnn batches` show it: a real batch, cut from the
// text the way a run cuts it (the model's family, train/families/), and its first rows as
// characters.
#include <cstdint>
#include <string>
#include <vector>

#include "data/loader.h"
#include "train/run_config.h"

namespace charnn::teach {

struct LessonDataOptions {
  std::string text;       // the corpus, resolved by the caller
  int64_t max_chars = 0;  // the first max_chars characters only (0 = all), as a run's --max-chars
  uint64_t seed = 0;      // the training order (windows) or numpy's stream (the stateful models)
  int64_t bs = 0;         // 0: the model's lesson batch size
};

struct FirstBatch {
  RunConfig config;  // as a run with these options would start, its vocabulary set
  Batch batch;       // the first batch of the first epoch
};

// Throws InputError, in one line, when the model is unknown (listing the known ones) or the text
// gives no full batch.
// The registered model of that name; an unknown one is an InputError listing the known ones, so
// the commands refuse it before reading the text.
const ModelSpec& known_model(const std::string& name);

FirstBatch first_training_batch(const std::string& model, const LessonDataOptions& options);

struct BatchRows {
  std::string model;
  std::string layout;  // layout_name()
  std::string about;   // what the rows are, in a sentence
  std::vector<std::vector<std::string>> x, y;  // each row's tokens (a character, or '<eos>')
};

// The first `rows` rows of the model's data as its layout lays them out: the windowed models'
// xs and y in the text's order, as the notebook shows xs[:cs,:cs] (training draws them shuffled);
// the stateful models' first training batch, column by column.
BatchRows first_rows(const std::string& model, const LessonDataOptions& options, int64_t rows);

// Tokens as one string, with newlines, tabs, NULs and backslashes escaped.
std::string visible(const std::vector<std::string>& tokens);
std::string rows_text(const BatchRows& rows);
std::string rows_json(const BatchRows& rows);

}  // namespace charnn::teach
