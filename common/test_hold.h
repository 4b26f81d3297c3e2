#pragma once
// Fault injection for the CLI tests. A test that interrupts a run must know where the run is
// when the signal lands, however fast or busy the machine: with CHARNN_TEST_HOLD=POINT:N the
// process stops at the N-th pass of the named point, says so on stderr, and waits there for a
// signal. Unset (always, outside the tests) it costs one string comparison per call.
//   start    after the run directory is locked, before the text is read (N is ignored)
//   step:N   after the run's N-th optimizer step, once its metrics row and checkpoint are written
//   save:N   inside this process's N-th checkpoint, after model.pt.next is written and before
//            train_state.pt names it
//   validate:N  before this process's N-th validation pass
#include <atomic>
#include <cstdint>
#include <string_view>

namespace charnn {

// The flag a stop signal sets (the CLI's); a hold inside training returns once it is set, so the
// run then stops at that batch boundary. Without it a hold waits until the process is killed.
void set_test_hold_release(const std::atomic<int>* stop_signal);

// Holds here when CHARNN_TEST_HOLD names this point and count.
void test_hold(std::string_view point, int64_t count = 0);

}  // namespace charnn
