// The one file that uses ATen's RecordFunction (ATen/record_function.h, the interface LibTorch's
// profiler is built on; the same calls in LibTorch 1.13 and 2.x).
#include "train/teach/op_recorder.h"

#include <ATen/record_function.h>

#include <stdexcept>

namespace charnn::teach {
namespace {

// The dispatcher calls the callbacks on the thread that runs the op; nested ops come between
// their caller's start and end, so a depth count tells the outermost ones apart.
// The dispatcher calls the callbacks on the thread that runs the op; nested ops come between
// their caller's start and end, so a depth count tells the outermost ones apart. An op's inputs
// can be read only in its start callback: the outermost one's wait there for its end.
thread_local std::vector<RecordedOp>* t_sink = nullptr;
thread_local int t_depth = 0;
thread_local std::vector<const void*> t_inputs;

void add_storage(const at::Tensor& t, std::vector<const void*>& out) {
  if (t.defined() && t.has_storage()) out.push_back(t.storage().unsafeGetStorageImpl());
}

void add_storages(const c10::IValue& value, std::vector<const void*>& out) {
  if (value.isTensor()) {
    add_storage(value.toTensor(), out);
  } else if (value.isTensorList()) {
    for (const auto& t : value.toTensorVector()) add_storage(t, out);
  } else if (value.isList()) {
    for (const auto& element : value.toListRef()) add_storages(element, out);
  }
}

std::unique_ptr<at::ObserverContext> on_start(const at::RecordFunction& fn) {
  if (t_depth++ == 0) {
    t_inputs.clear();
    for (const auto& value : fn.inputs()) add_storages(value, t_inputs);
  }
  return nullptr;
}

void add_outputs(const c10::IValue& value, std::vector<Shape>& out) {
  if (value.isTensor()) {
    const auto& t = value.toTensor();
    if (t.defined()) out.emplace_back(t.sizes().begin(), t.sizes().end());
  } else if (value.isTensorList()) {
    for (const auto& t : value.toTensorVector()) out.emplace_back(t.sizes().begin(), t.sizes().end());
  } else if (value.isTuple()) {
    for (const auto& element : value.toTupleRef().elements()) add_outputs(element, out);
  }
}

void on_end(const at::RecordFunction& fn, at::ObserverContext* /*context*/) {
  if (--t_depth != 0 || t_sink == nullptr) return;
  RecordedOp op{fn.name(), {}, std::move(t_inputs)};
  for (const auto& value : fn.outputs()) add_outputs(value, op.outputs);
  t_sink->push_back(std::move(op));
  t_inputs.clear();
}

}  // namespace

OpRecorder::OpRecorder() {
  if (t_sink != nullptr) throw std::logic_error("OpRecorder: one at a time on a thread");
  t_sink = &ops_;
  t_depth = 0;
  handle_ = at::addThreadLocalCallback(at::RecordFunctionCallback(on_start, on_end)
                                           .needsInputs(true)
                                           .needsOutputs(true)
                                           .scopes({at::RecordScope::FUNCTION}));
}

OpRecorder::~OpRecorder() { take(); }

std::vector<RecordedOp> OpRecorder::take() {
  if (!active_) return {};
  active_ = false;
  at::removeCallback(handle_);
  t_sink = nullptr;
  return std::move(ops_);
}

}  // namespace charnn::teach
