#include "train/run/lesson.h"

namespace charnn {

const std::vector<LessonSection>& lesson_sections() {
  auto model = [](const char* name, bool identity = false) {
    ModelConfig c;
    c.model = name;
    c.identity_init = identity;
    return c;
  };
  // Learning rates, epochs and printed losses from fastai/fastai courses/dl1/lesson6-rnn.ipynb.
  // Char3Model's printed val loss is the loss of one row (val_idxs=[-1]): shown, not compared.
  static const std::vector<LessonSection> sections = {
      {"char3-model", model("char3-model"), {{1, 1e-2}, {1, 1e-3}}, {{2.09627, {}}, {1.84525, {}}}},
      {"char-loop-model", model("char-loop-model"), {{1, 1e-2}, {1, 1e-3}},
       {{2.02986, 1.99268}, {1.73588, 1.75103}}},
      {"char-loop-concat-model", model("char-loop-concat-model"), {{1, 1e-3}, {1, 1e-4}},
       {{1.81654, 1.78501}, {1.69008, 1.69936}}},
      {"char-rnn", model("char-rnn"), {{4, 1e-3}, {2, 1e-4}}, {{1.52989, 1.54942}, {1.46482, 1.5039}}},
      {"char-seq-rnn", model("char-seq-rnn"), {{4, 1e-3}, {1, 1e-4}}, {{2.04892, 2.01564}, {1.99819, 2.00106}}},
      {"char-seq-rnn-identity", model("char-seq-rnn", true), {{4, 1e-2}, {4, 1e-3}},
       {{1.93492, 1.91763}, {1.81337, 1.83801}}},
  };
  return sections;
}

}  // namespace charnn
