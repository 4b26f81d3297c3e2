#pragma once
// The notebook's schedule for every model, with the losses it printed, so `charnn lesson`
// can put our numbers beside the lesson's.
#include <optional>
#include <string>
#include <vector>

#include "train/io/config_file.h"

namespace charnn {

struct NotebookLoss {
  double trn;
  std::optional<double> val;  // unset where the notebook's val is not comparable (one row)
};

struct LessonSection {
  std::string name;  // run directory name and table label
  ModelConfig model;
  std::vector<FitCall> schedule;
  std::vector<NotebookLoss> notebook;  // the last printed row of each fit call
  int64_t bs = 512;  // 64 for the stateful models
  double wd = 0.0;   // LayerOptimizer's weight decay (the LSTM's 1e-5)
};

const std::vector<LessonSection>& lesson_sections();

// The band within which a final loss counts as reproducing the notebook.
constexpr double kLessonTolerance = 0.05;

}  // namespace charnn
