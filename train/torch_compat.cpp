#include "train/torch_compat.h"

#include <torch/version.h>

namespace charnn {

OptimizerStateKey optimizer_state_key(const torch::Tensor& p) {
#if TORCH_VERSION_MAJOR < 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR < 2)
  return c10::guts::to_string(p.unsafeGetTensorImpl());
#else
  return p.unsafeGetTensorImpl();
#endif
}

}  // namespace charnn
