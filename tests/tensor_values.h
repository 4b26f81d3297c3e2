#pragma once
// A tensor's values as a plain vector, so that Catch2 prints both sides of a failed comparison.
#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace charnn::test {

inline std::vector<int64_t> to_vector(const torch::Tensor& t) {
  auto c = t.contiguous().to(torch::kInt64);
  return {c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()};
}

}  // namespace charnn::test
