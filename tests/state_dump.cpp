// charnn_state_dump RUN_DIR: what `charnn train --resume RUN_DIR` loads, printed exactly, so
// that two builds (two LibTorch versions) can be shown to load the same state bit for bit:
// the resume point (through the resume's own loader and checks), every weight as loaded into
// the run's model, and every value of train_state.pt (Adam's moments and steps, the position,
// the batch order, the generator state). Tensors print as dtype, shape and the CRC-32 of their
// bytes; floating-point numbers as their bits in hexadecimal.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstring>
#include <iostream>

#include "common/error.h"
#include "train/io/checkpoint.h"
#include "train/io/train_state.h"
#include "common/crc32.h"
#include "train/run/session.h"

using namespace charnn;

namespace {

std::string tensor_line(const at::Tensor& t) {
  const auto c = t.detach().cpu().contiguous();
  return fmt::format("{} [{}] crc32 {:08x}", c10::toString(c.scalar_type()), fmt::join(c.sizes(), ", "),
                     charnn::crc32(static_cast<const unsigned char*>(c.data_ptr()), c.nbytes()));
}

void dump(const std::string& path, const c10::IValue& v) {
  if (v.isGenericDict()) {
    for (const auto& e : v.toGenericDict()) {
      const auto key = e.key().isString() ? e.key().toStringRef() : e.key().tagKind() + ":" + std::to_string(e.key().toInt());
      dump(path + "." + key, e.value());
    }
  } else if (v.isList()) {
    const auto list = v.toListRef();
    for (size_t i = 0; i < list.size(); ++i) dump(fmt::format("{}[{}]", path, i), list[i]);
  } else if (v.isTuple()) {
    const auto& items = v.toTupleRef().elements();
    for (size_t i = 0; i < items.size(); ++i) dump(fmt::format("{}({})", path, i), items[i]);
  } else if (v.isTensor()) {
    fmt::print("{} {}\n", path, tensor_line(v.toTensor()));
  } else if (v.isDouble()) {
    const double d = v.toDouble();
    uint64_t bits = 0;
    std::memcpy(&bits, &d, sizeof bits);
    fmt::print("{} double {:016x}\n", path, bits);
  } else if (v.isInt()) {
    fmt::print("{} int {}\n", path, v.toInt());
  } else if (v.isBool()) {
    fmt::print("{} bool {}\n", path, v.toBool());
  } else if (v.isString()) {
    fmt::print("{} str {}\n", path, v.toStringRef());
  } else if (v.isNone()) {
    fmt::print("{} None\n", path);
  } else {
    fmt::print("{} {}\n", path, v.tagKind());
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: charnn_state_dump RUN_DIR\n";
    return 2;
  }
  try {
    const std::filesystem::path dir = argv[1];
    const auto at = read_resume_point(dir);
    fmt::print("resume fit {} epoch {} batch {} step {}\n", at.fit, at.epoch, at.batch, at.step);
    const auto loaded = load_run_model(dir);
    for (const auto& item : loaded.model.module->named_parameters()) {
      fmt::print("model.pt.{} {}\n", item.key(), tensor_line(item.value()));
    }
    dump("train_state.pt", read_torch_file(dir / kTrainStateFile));
  } catch (const std::exception& e) {
    std::cerr << "charnn_state_dump: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
