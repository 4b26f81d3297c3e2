#pragma once
// Tests tagged [cuda] need a CUDA device. Without one they end at once, saying so; CTest
// counts them as skipped (tests/CMakeLists.txt matches the message), never as passed.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#define CHARNN_REQUIRE_CUDA()                                         \
  do {                                                                \
    if (!torch::cuda::is_available()) {                               \
      WARN("skipped: no CUDA device (torch::cuda::is_available())"); \
      return;                                                         \
    }                                                                 \
  } while (false)
