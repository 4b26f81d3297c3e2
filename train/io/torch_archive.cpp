#include "train/io/torch_archive.h"

#include <caffe2/serialize/inline_container.h>
#include <fmt/format.h>
#include <torch/csrc/jit/serialization/unpickler.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "common/crc32.h"

namespace charnn {
namespace {

// What the rewrite needs to know about a value on the pickle stack: where the bytes that
// produce it begin, and whether it is one of the few things the rewrite cares about.
// StorageKey is the ('storage', torch.XStorage, key, location, numel) tuple of a tensor's
// data: LibTorch takes its second element as a dtype number without checking it.
enum class Kind : uint8_t { Other, String, Int, Dict, EmptyTuple, OrderedDictClass, StorageType, StorageKey };

struct Slot {
  size_t start;
  Kind kind;
};

struct Edit {
  size_t offset;
  size_t erase;
  std::string insert;
};

// Walks the opcodes of a protocol-2 pickle with a stack of Slots instead of values (the
// same stack discipline as Python's pickletools), recording byte edits. It accepts only the
// opcodes LibTorch's unpickler knows (plus SETITEM, which it rewrites), with every length
// and memo index inside bounds: a damaged pickle is rejected here, before LibTorch would
// act on a corrupt length (say, a 4 GiB string) and exhaust memory.
class PickleRewriter {
 public:
  explicit PickleRewriter(std::string_view pickle) : p_(pickle) {}

  void run() {
    while (pos_ < p_.size()) {
      const size_t op = pos_++;
      const auto code = static_cast<unsigned char>(p_[op]);
      if (code == '.') {  // STOP
        if (!memo_intact()) fail(op, "refers to data the rewrite removes");
        return;
      }
      if (!step(op, code)) fail(op, fmt::format("unsupported or malformed opcode 0x{:02x}", code));
    }
    fail(pos_, "ends before its STOP opcode");
  }

  std::string apply() const {
    auto edits = edits_;
    // At one offset a deletion goes first, so that edits inside the deleted bytes are dropped.
    std::stable_sort(edits.begin(), edits.end(), [](const Edit& a, const Edit& b) {
      return a.offset != b.offset ? a.offset < b.offset : a.erase > b.erase;
    });
    std::string out;
    size_t copied = 0;
    for (const auto& e : edits) {
      if (e.offset < copied) continue;
      out.append(p_.substr(copied, e.offset - copied));
      out.append(e.insert);
      copied = e.offset + e.erase;
    }
    out.append(p_.substr(copied));
    return out;
  }

 private:
  [[noreturn]] static void fail(size_t offset, const std::string& what) {
    throw std::invalid_argument(fmt::format("the pickle {} (byte {})", what, offset));
  }

  bool step(size_t op, unsigned char code) {
    switch (code) {
      case 0x80: return op == 0 && skip(1);                                            // PROTO
      case '(': marks_.push_back({stack_.size(), op}); return true;                    // MARK
      case 'N': case ']': case 0x88: case 0x89: return push({op, Kind::Other});        // NONE, EMPTY_LIST, NEWTRUE/FALSE
      case '}': return push({op, Kind::Dict});                                         // EMPTY_DICT
      case ')': return push({op, Kind::EmptyTuple});                                   // EMPTY_TUPLE
      case 'K': return skip(1) && push({op, Kind::Int});                               // BININT1
      case 'M': return skip(2) && push({op, Kind::Int});                               // BININT2
      case 'J': return skip(4) && push({op, Kind::Int});                               // BININT
      case 'G': return skip(8) && push({op, Kind::Other});                             // BINFLOAT
      case 0x8a: return counted(1) && push({op, Kind::Int});                           // LONG1
      case 'X': return counted(4) && push({op, Kind::String});                         // BINUNICODE
      case 'c': return global(op);                                                     // GLOBAL
      case 'q': return index(1) && put(op);                                            // BINPUT
      case 'r': return index(4) && put(op);                                            // LONG_BINPUT
      case 'h': return index(1) && get(op);                                            // BINGET
      case 'j': return index(4) && get(op);                                            // LONG_BINGET
      default: return structural(op, code);
    }
  }

  bool structural(size_t op, unsigned char code) {
    switch (code) {
      case 't': return collect(is_storage_key() ? Kind::StorageKey : Kind::Other);    // TUPLE
      case 'l': return collect(Kind::Other);                                           // LIST
      case 'd': return collect(Kind::Dict);                                            // DICT
      case 0x85: return combine(1, Kind::Other);                                       // TUPLE1
      case 0x86: return combine(2, Kind::Other);                                       // TUPLE2
      case 0x87: return combine(3, Kind::Other);                                       // TUPLE3
      case 'Q': return need(1) && stack_.back().kind == Kind::StorageKey && combine(1, Kind::Other);  // BINPERSID
      case 'e': case 'u': return need_below_mark() && to_mark().has_value();           // APPENDS, SETITEMS
      case 's': return setitem(op);                                                    // SETITEM
      case 'R': return reduce(op);                                                     // REDUCE
      case 0x81: return combine(2, Kind::Other);                                       // NEWOBJ
      case 'b': return build(op);                                                      // BUILD
      default: return false;
    }
  }

  // LibTorch 1.13 has no SETITEM: give the pair a MARK of its own and use SETITEMS.
  bool setitem(size_t op) {
    if (!need(3)) return false;
    edits_.push_back({stack_[stack_.size() - 2].start, 0, "("});
    edits_.push_back({op, 1, "u"});
    return pop(2);
  }

  // OrderedDict() becomes {}: the bytes of the class and its () are replaced by EMPTY_DICT.
  // (LibTorch's unpickler turns OrderedDict() into None and has no POP to discard a value.)
  bool reduce(size_t op) {
    if (!need(2)) return false;
    const Slot fn = stack_[stack_.size() - 2];
    const bool ordered_dict = fn.kind == Kind::OrderedDictClass && stack_.back().kind == Kind::EmptyTuple;
    if (ordered_dict) edits_.push_back({fn.start, op + 1 - fn.start, "}"});
    pop(2);
    return push({fn.start, ordered_dict ? Kind::Dict : Kind::Other});
  }

  // BUILD on a dict only sets attributes (a state_dict's _metadata): drop it with its state.
  bool build(size_t op) {
    if (!need(2)) return false;
    if (stack_[stack_.size() - 2].kind == Kind::Dict) {
      const size_t begin = stack_.back().start;
      edits_.push_back({begin, op + 1 - begin, ""});
    }
    return pop(1);
  }

  bool global(size_t op) {
    const auto module = line();
    const auto name = line();
    if (!module || !name) return false;
    Kind kind = Kind::Other;
    if (*module == "collections" && *name == "OrderedDict") kind = Kind::OrderedDictClass;
    if (*module == "torch" && name->size() > 7 && name->substr(name->size() - 7) == "Storage") kind = Kind::StorageType;
    return push({op, kind});
  }

  // Picklers number memo entries 0, 1, 2, ...; a larger index is damage (and LibTorch would
  // grow its memo table to it).
  bool put(size_t op) {
    if (!need(1) || index_ > memo_.size()) return false;
    memo_[index_] = {stack_.back().kind, op};
    return true;
  }

  bool get(size_t op) {
    const auto it = memo_.find(index_);
    if (it == memo_.end()) return false;
    gets_.push_back({op, it->second.second});
    return push({op, it->second.first});
  }

  // A value that survives the rewrite must not refer to a memo entry whose bytes were deleted.
  bool memo_intact() const {
    auto deleted = [this](size_t offset) {
      return std::any_of(edits_.begin(), edits_.end(), [offset](const Edit& e) {
        return e.erase > 1 && offset >= e.offset && offset < e.offset + e.erase;
      });
    };
    return std::none_of(gets_.begin(), gets_.end(),
                        [&](const auto& g) { return !deleted(g.first) && deleted(g.second); });
  }

  // The items since the last MARK are (str, torch.XStorage, str, str, int).
  bool is_storage_key() const {
    if (marks_.empty() || stack_.size() != marks_.back().first + 5) return false;
    const Slot* item = stack_.data() + marks_.back().first;
    return item[0].kind == Kind::String && item[1].kind == Kind::StorageType && item[2].kind == Kind::String &&
           item[3].kind == Kind::String && item[4].kind == Kind::Int;
  }

  // Replaces the items since the last MARK by one value that starts at the MARK.
  bool collect(Kind kind) {
    const auto mark = to_mark();
    return mark && push({*mark, kind});
  }

  // Replaces the top n items by one value that starts where the first of them started.
  bool combine(size_t n, Kind kind) {
    if (!need(n)) return false;
    const size_t start = stack_[stack_.size() - n].start;
    pop(n);
    return push({start, kind});
  }

  std::optional<size_t> to_mark() {
    if (marks_.empty() || marks_.back().first > stack_.size()) return std::nullopt;
    const auto [depth, offset] = marks_.back();
    marks_.pop_back();
    stack_.resize(depth);
    return offset;
  }

  // SETITEMS and APPENDS add to the container just below their MARK.
  bool need_below_mark() const { return !marks_.empty() && marks_.back().first > 0; }

  bool need(size_t n) const {
    const size_t floor = marks_.empty() ? 0 : marks_.back().first;
    return stack_.size() >= floor + n;
  }
  bool push(Slot s) {
    stack_.push_back(s);
    return true;
  }
  bool pop(size_t n) {
    stack_.resize(stack_.size() - n);
    return true;
  }

  bool skip(size_t n) {
    if (p_.size() - pos_ < n) return false;
    pos_ += n;
    return true;
  }
  bool little_endian(size_t width, uint64_t& value) {
    if (p_.size() - pos_ < width) return false;
    value = 0;
    for (size_t i = 0; i < width; ++i) value |= uint64_t(static_cast<unsigned char>(p_[pos_ + i])) << (8 * i);
    pos_ += width;
    return true;
  }
  bool counted(size_t width) {
    uint64_t n = 0;
    return little_endian(width, n) && skip(n);
  }
  bool index(size_t width) {
    uint64_t v = 0;
    if (!little_endian(width, v)) return false;
    index_ = v;
    return true;
  }
  std::optional<std::string_view> line() {
    const auto end = p_.find('\n', pos_);
    if (end == std::string_view::npos) return std::nullopt;
    const auto text = p_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return text;
  }
  std::string_view p_;
  size_t pos_ = 0;
  uint64_t index_ = 0;  // the memo index of the current PUT/GET
  std::vector<Slot> stack_;
  std::vector<std::pair<size_t, size_t>> marks_;      // (stack depth, offset of the MARK)
  std::map<uint64_t, std::pair<Kind, size_t>> memo_;  // index -> (kind, offset of the PUT)
  std::vector<std::pair<size_t, size_t>> gets_;       // (offset of a GET, offset of its PUT)
  std::vector<Edit> edits_;
};

// The unpickler believes the sizes, strides and element counts written in the pickle, so a
// damaged file can describe a tensor bigger than the bytes behind it, and the first read
// of it would run off the end of its buffer. Every tensor is checked against the size of
// the record it was actually read from.
using RecordSizes = std::map<const void*, size_t>;

void check_tensor_bounds(const at::Tensor& t, const RecordSizes& records) {
  const size_t claimed = t.storage().nbytes();
  if (claimed > 0) {
    const auto it = records.find(t.storage().data_ptr().get());
    TORCH_CHECK(it != records.end() && it->second >= claimed,
                "a tensor claims more bytes than its data record holds");
  }
  int64_t last = t.storage_offset();  // the highest element index the tensor touches
  bool empty = false;
  for (int64_t d = 0; d < t.dim(); ++d) {
    TORCH_CHECK(t.size(d) >= 0 && t.stride(d) >= 0, "a tensor has a negative size or stride");
    empty = empty || t.size(d) == 0;
    int64_t reach = 0;
    TORCH_CHECK(!__builtin_mul_overflow(t.size(d) > 0 ? t.size(d) - 1 : 0, t.stride(d), &reach) &&
                    !__builtin_add_overflow(last, reach, &last),
                "a tensor's shape overflows");
  }
  if (empty) return;
  int64_t bytes = 0;
  TORCH_CHECK(last >= 0 && !__builtin_mul_overflow(last + 1, static_cast<int64_t>(t.element_size()), &bytes) &&
                  static_cast<size_t>(bytes) <= claimed,
              "a tensor's shape reaches past the end of its data");
}

void check_tensors(const c10::IValue& value, const RecordSizes& records, int depth) {
  TORCH_CHECK(depth < 100, "the data is nested too deeply");
  if (value.isTensor()) {
    check_tensor_bounds(value.toTensor(), records);
  } else if (value.isGenericDict()) {
    for (const auto& entry : value.toGenericDict()) {
      check_tensors(entry.key(), records, depth + 1);
      check_tensors(entry.value(), records, depth + 1);
    }
  } else if (value.isList()) {
    for (const auto& element : value.toListRef()) check_tensors(element, records, depth + 1);
  } else if (value.isTuple()) {
    for (const auto& element : value.toTupleRef().elements()) check_tensors(element, records, depth + 1);
  }
}

}  // namespace

std::string plain_dict_pickle(std::string_view pickle) {
  PickleRewriter rewriter(pickle);
  rewriter.run();
  return rewriter.apply();
}

c10::IValue torch_load(const std::string& archive) {
  std::istringstream in(archive);
  caffe2::serialize::PyTorchStreamReader reader(&in);
  const auto [data, size] = reader.getRecord("data.pkl");
  const auto pickle = plain_dict_pickle(std::string_view(static_cast<const char*>(data.get()), size));

  size_t pos = 0;
  auto read = [&](char* buffer, size_t n) {
    n = std::min(n, pickle.size() - pos);
    std::memcpy(buffer, pickle.data() + pos, n);
    pos += n;
    return n;
  };
  RecordSizes records;
  auto read_record = [&](const std::string& name) {
    auto [ptr, bytes] = reader.getRecord("data/" + name);
    records[ptr.get()] = bytes;
    return std::move(ptr);
  };
  torch::jit::Unpickler unpickler(read, nullptr, nullptr, read_record, at::Device(at::kCPU));
  auto value = unpickler.parse_ivalue();
  check_tensors(value, records, 0);
  return value;
}

uint32_t crc32_of_inflated_record(const std::string& archive, const std::string& name) {
  std::istringstream in(archive);
  caffe2::serialize::PyTorchStreamReader reader(&in);
  const auto [data, size] = reader.getRecord(name.substr(name.find('/') + 1));
  return crc32(static_cast<const unsigned char*>(data.get()), size);
}

std::string torch_archive(std::string_view pickle, const std::vector<StorageRecord>& storages) {
  std::string out;
  caffe2::serialize::PyTorchStreamWriter writer([&out](const void* data, size_t n) {
    out.append(static_cast<const char*>(data), n);
    return n;
  });
  writer.writeRecord("data.pkl", pickle.data(), pickle.size());
  // PyTorch >= 2.1 reads this record to byte-swap files from big-endian machines; older
  // versions ignore it.
  writer.writeRecord("byteorder", "little", 6);
  for (const auto& s : storages) {
    TORCH_CHECK(s.storage.is_contiguous() && s.storage.device().is_cpu(), "storage must be contiguous on the CPU");
    writer.writeRecord("data/" + s.key, s.storage.data_ptr(), s.storage.nbytes());
  }
  writer.writeEndOfFile();
  return out;
}

}  // namespace charnn
