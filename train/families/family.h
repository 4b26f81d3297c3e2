#pragma once
// A family of models: one kind of training, with everything that differs between the kinds
// behind one interface, so the run, the fit loop and the CLI never ask which kind they drive.
// The lesson has two: the windowed models of its first half (ColumnarModelData; windows.h) and
// the stateful language models of its second (LanguageModelData; language_model.h). Another
// is a class in this room and one registry line (register_family); a model names its family in
// its registry entry (ModelSpec::family).
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "data/corpus.h"
#include "train/fit.h"
#include "train/generate/generate.h"
#include "train/run_config.h"
#include "train/shard.h"
#include "train/training_data.h"

namespace charnn {

class Family {
 public:
  virtual ~Family() = default;
  virtual std::string_view name() const = 0;

  // The notebook's data cell for the family: the loaders cut from the text. Sets config's
  // vocabulary (a resumed run: checks the text gives the one it holds) and resolves what the
  // family derives from the text. Over several processes, this one computes `shard`'s part of
  // every batch and the collectives make every step, loss and state the whole batch's
  // (train/shard.h). Throws InputError naming the text when it cannot feed a run.
  virtual std::unique_ptr<TrainingData> prepare(const Corpus& text, RunConfig& config, const torch::Device& device,
                                                Shard& shard) const = 0;
  // Whether an epoch can end before len(trn_dl) batches (a saved position is then checked
  // against bounds rather than exact counts).
  virtual bool epochs_end_early() const = 0;
  // Whether --trn-lines means anything: the family splits its text into training and
  // validation lines.
  virtual bool splits_text_by_lines() const { return false; }
  // Checks a checkpoint's data state without the text, as TrainingData::restore would.
  // Throws InputError naming the entry.
  virtual void check_state(const DataState& state, const FitState& at, const RunShape& shape,
                           LessonModel& model) const = 0;

  // The notebook's get_next_n for the family: the prompt continued by options.n tokens of the
  // run's vocabulary (config.vocab, which errors call `vocab_name`), each handed to `emit` as
  // UTF-8 as it is chosen.
  virtual void generate(LessonModel& model, const RunConfig& config, std::string_view vocab_name,
                        std::u32string_view prompt, const SampleOptions& options,
                        const std::function<void(std::string_view)>& emit) const = 0;
  // Whether `sample` draws (temperature 1) rather than takes the argmax when not told which.
  virtual bool samples_by_default() const { return false; }
};

// The family a model trains in (its registry entry's `family`). Throws std::invalid_argument
// naming an unknown one.
const Family& family_of(const ModelSpec& spec);
// Adds a family after the lesson's two. Throws std::invalid_argument when the name is taken.
void register_family(std::shared_ptr<const Family> family);
void unregister_family(std::string_view name);

}  // namespace charnn
