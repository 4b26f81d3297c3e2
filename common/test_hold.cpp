#include "common/test_hold.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>

#include "common/console.h"

namespace charnn {
namespace {

std::atomic<const std::atomic<int>*> g_release{nullptr};

struct HoldPoint {
  std::string point;
  int64_t count = 0;
};

std::optional<HoldPoint> asked() {
  const char* env = std::getenv("CHARNN_TEST_HOLD");
  if (env == nullptr || *env == '\0') return std::nullopt;
  const std::string spec(env);
  const auto colon = spec.find(':');
  if (colon == std::string::npos) return HoldPoint{spec, 0};
  return HoldPoint{spec.substr(0, colon), std::strtoll(spec.c_str() + colon + 1, nullptr, 10)};
}

}  // namespace

void set_test_hold_release(const std::atomic<int>* stop_signal) { g_release.store(stop_signal); }

void test_hold(std::string_view point, int64_t count) {
  static const auto hold = asked();
  if (!hold || hold->point != point || (point != "start" && hold->count != count)) return;
  note(point == "start" ? std::string("charnn: holding at start (CHARNN_TEST_HOLD)\n")
                        : fmt::format("charnn: holding at {}:{} (CHARNN_TEST_HOLD)\n", point, count));
  for (;;) {
    const auto* release = g_release.load();
    if (release != nullptr && release->load() != 0) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace charnn
