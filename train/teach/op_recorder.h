#pragma once
// The ATen operators a piece of code runs, in the order it runs them, each with the shapes it
// returned: what `charnn shapes` reads a model's forward from. Only the outermost calls are kept
// (aten::linear, not the aten::addmm inside it), and only this thread's.
#include <cstdint>
#include <string>
#include <vector>

namespace charnn::teach {

using Shape = std::vector<int64_t>;

struct RecordedOp {
  std::string name;            // as the dispatcher names it: "aten::linear"
  std::vector<Shape> outputs;  // every tensor it returned, a list's (unbind's) element by element
  // The storage of every tensor it was given, so an operator can be told from the parameters it
  // reads (nn::Linear's aten::t and aten::addmm read its weight and bias).
  std::vector<const void*> input_storages;
};

// Records from construction until take(). One at a time on a thread; LibTorch's own profiler
// may run beside it (its callbacks are its own).
class OpRecorder {
 public:
  OpRecorder();
  ~OpRecorder();
  OpRecorder(const OpRecorder&) = delete;
  OpRecorder& operator=(const OpRecorder&) = delete;

  // Stops recording and hands over what was recorded.
  std::vector<RecordedOp> take();

 private:
  std::vector<RecordedOp> ops_;
  uint64_t handle_;
  bool active_ = true;
};

}  // namespace charnn::teach
