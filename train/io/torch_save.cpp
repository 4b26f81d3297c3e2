#include "train/io/torch_save.h"

#include <fmt/format.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "train/io/atomic_file.h"
#include "train/io/torch_archive.h"

namespace charnn {
namespace {

// The class Python's torch.save names for a tensor's storage of each dtype.
const char* storage_class(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "FloatStorage";
    case at::kDouble: return "DoubleStorage";
    case at::kHalf: return "HalfStorage";
    case at::kBFloat16: return "BFloat16Storage";
    case at::kLong: return "LongStorage";
    case at::kInt: return "IntStorage";
    case at::kShort: return "ShortStorage";
    case at::kChar: return "CharStorage";
    case at::kByte: return "ByteStorage";
    case at::kBool: return "BoolStorage";
    default: throw std::invalid_argument(fmt::format("torch_save: no storage class for dtype {}", c10::toString(t)));
  }
}

// Emits the opcodes of pickle protocol 2 (Python's Lib/pickle.py names them), without memo:
// a checkpoint holds no shared references, and an unpickler needs no PUT it never GETs.
class Pickler {
 public:
  explicit Pickler(bool ordered_top_level) : ordered_top_level_(ordered_top_level) {}

  std::string finish(const c10::IValue& value) {
    out_ += "\x80\x02";  // PROTO 2
    write(value, 0);
    out_ += '.';  // STOP
    return std::move(out_);
  }
  std::vector<StorageRecord>& storages() { return storages_; }

 private:
  void write(const c10::IValue& v, int depth) {
    if (depth > 64) throw std::invalid_argument("torch_save: the value is nested too deeply");
    if (v.isNone()) {
      out_ += 'N';
    } else if (v.isBool()) {
      out_ += v.toBool() ? '\x88' : '\x89';
    } else if (v.isInt()) {
      write_int(v.toInt());
    } else if (v.isDouble()) {
      write_double(v.toDouble());
    } else if (v.isString()) {
      write_string(v.toStringRef());
    } else if (v.isTensor()) {
      write_tensor(v.toTensor());
    } else if (v.isGenericDict()) {
      write_dict(v.toGenericDict(), depth);
    } else if (v.isList()) {
      out_ += ']';  // EMPTY_LIST, then MARK items APPENDS
      const auto items = v.toListRef();
      if (items.empty()) return;
      out_ += '(';
      for (const auto& item : items) write(item, depth + 1);
      out_ += 'e';
    } else if (v.isTuple()) {
      write_tuple(v.toTupleRef().elements(), depth);
    } else {
      throw std::invalid_argument(fmt::format("torch_save: cannot write a {}", v.tagKind()));
    }
  }

  void write_dict(const c10::Dict<c10::IValue, c10::IValue>& dict, int depth) {
    if (depth == 0 && ordered_top_level_) {
      write_global("collections", "OrderedDict");
      out_ += ")R";  // OrderedDict()
    } else {
      out_ += '}';  // EMPTY_DICT
    }
    if (dict.empty()) return;
    out_ += '(';  // MARK key value ... SETITEMS
    for (const auto& entry : dict) {
      write(entry.key(), depth + 1);
      write(entry.value(), depth + 1);
    }
    out_ += 'u';
  }

  template <typename Items>
  void write_tuple(const Items& items, int depth) {
    static const char kSmallTuple[] = {')', '\x85', '\x86', '\x87'};  // EMPTY_TUPLE, TUPLE1..3
    if (items.size() > 3) out_ += '(';
    for (const auto& item : items) write(item, depth + 1);
    out_ += items.size() > 3 ? 't' : kSmallTuple[items.size()];
  }

  void write_int(int64_t v) {
    if (v >= 0 && v < 256) {
      out_ += 'K';  // BININT1
      out_ += static_cast<char>(v);
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
      out_ += 'J';  // BININT, little-endian
      append_le(static_cast<uint32_t>(static_cast<int32_t>(v)), 4);
    } else {
      out_ += "\x8a\x08";  // LONG1 of 8 bytes, two's complement, little-endian
      append_le(static_cast<uint64_t>(v), 8);
    }
  }

  void write_double(double v) {
    out_ += 'G';  // BINFLOAT, big-endian
    uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof bits);
    for (int shift = 56; shift >= 0; shift -= 8) out_ += static_cast<char>((bits >> shift) & 0xff);
  }

  void write_string(const std::string& s) {
    out_ += 'X';  // BINUNICODE
    append_le(s.size(), 4);
    out_ += s;
  }

  void write_global(const char* module, const char* name) { out_ += fmt::format("c{}\n{}\n", module, name); }

  // torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks),
  // the storage a persistent id that names the record holding its bytes.
  void write_tensor(const at::Tensor& tensor) {
    const auto t = tensor.detach().to(at::kCPU).contiguous().clone();
    const auto key = std::to_string(storages_.size());
    storages_.push_back({key, t});
    write_global("torch._utils", "_rebuild_tensor_v2");
    out_ += '(';
    out_ += '(';
    write_string("storage");
    write_global("torch", storage_class(t.scalar_type()));
    write_string(key);
    write_string("cpu");
    write_int(t.numel());
    out_ += "tQ";  // TUPLE, BINPERSID
    write_int(0);
    write_int_tuple(t.sizes());
    write_int_tuple(t.strides());
    out_ += '\x89';  // requires_grad=False
    write_global("collections", "OrderedDict");
    out_ += ")R";  // backward hooks: OrderedDict()
    out_ += "tR";  // TUPLE, REDUCE
  }

  void write_int_tuple(at::IntArrayRef values) {
    std::vector<c10::IValue> items(values.begin(), values.end());
    write_tuple(items, 0);
  }

  void append_le(uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out_ += static_cast<char>((v >> (8 * i)) & 0xff);
  }

  bool ordered_top_level_;
  std::string out_;
  std::vector<StorageRecord> storages_;
};

}  // namespace

std::string torch_save(const c10::IValue& value, const TorchSaveOptions& options) {
  Pickler pickler(options.ordered_top_level);
  const auto pickle = pickler.finish(value);
  return torch_archive(pickle, pickler.storages());
}

void torch_save(const c10::IValue& value, const std::filesystem::path& path, const TorchSaveOptions& options) {
  write_file_atomically(path, torch_save(value, options));
}

}  // namespace charnn
