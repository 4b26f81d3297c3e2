#pragma once
// How results are shown: the notebook's epoch rows, printed the way fastai 0.7 printed
// them (np.round(..., 6) under np.set_printoptions(precision=5, suppress=True)).
#include <string>
#include <vector>

#include "train/fit.h"

namespace charnn {

// e.g. "[ 0.       2.09627  6.52849]" and "[ 1.       1.46482  1.5039 ]"
std::string format_epoch_row(const EpochRow& row);

}  // namespace charnn
