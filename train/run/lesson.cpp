#include "train/run/lesson.h"

#include <fmt/format.h>

namespace charnn {

const std::vector<LessonSection>& lesson_sections() {
  auto model = [](const char* name, bool identity = false) {
    ModelConfig c;
    c.model = name;
    c.identity_init = identity;
    c.n_hidden = find_model(name).lesson_n_hidden;
    return c;
  };
  auto lstm = [&] { return model("char-seq-stateful-lstm"); };
  auto cos_anneal = [](int64_t epochs, double lr) {
    FitCall call{epochs, lr};
    call.kind = FitCall::Kind::CosAnneal;
    call.cycle_mult = 2;
    return call;
  };
  // Learning rates, epochs and printed losses from fastai/fastai courses/dl1/lesson6-rnn.ipynb
  // (docs/lesson-semantics.md §14 for the first half, §13 for the second).
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
      // The second half (docs/lesson-semantics.md §13): bs 64, bptt 8, the state carried across batches.
      {"char-seq-stateful-rnn", model("char-seq-stateful-rnn"), {{4, 1e-3}, {4, 1e-4}},
       {{1.48563, 1.54505}, {1.40756, 1.486}}, 64},
      {"char-seq-stateful-rnn2", model("char-seq-stateful-rnn2"), {{4, 1e-3}}, {{1.48698, 1.54217}}, 64},
      {"char-seq-stateful-gru", model("char-seq-stateful-gru"), {{6, 1e-3}, {3, 1e-4}},
       {{1.30217, 1.40511}, {1.22541, 1.36969}}, 64},
      // LayerOptimizer(optim.Adam, m, 1e-2, 1e-5), 2 epochs, then two CosAnneal(cycle_mult=2) calls.
      // The 63-epoch call's printed rows restart at 1e-2 (its cell ran out of order), so it starts
      // from 1e-2 here, not from the rate the 15-epoch call left (`63@prev:cos2`;
      // docs/lesson-semantics.md §10.2, quirk 3).
      {"char-seq-stateful-lstm",
       lstm(),
       {{2, 1e-2}, cos_anneal(15, 1e-2), cos_anneal(63, 1e-2)},
       {{1.62891, 1.58176}, {1.28244, 1.31518}, {1.13174, 1.2524}},
       64,
       1e-5},
  };
  return sections;
}

}  // namespace charnn
