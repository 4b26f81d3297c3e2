#include "train/io/zip_check.h"

#include <fmt/format.h>

#include <array>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "common/crc32.h"
#include "common/error.h"
#include "train/io/torch_archive.h"

namespace charnn {

namespace {

// Little-endian field of `bytes` bytes at `at`; 0 past the end, so a damaged offset reads
// as a field that fails its check rather than out of bounds.
uint32_t le(const std::string& b, size_t at, int bytes) {
  if (at + static_cast<size_t>(bytes) > b.size()) return 0;
  uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[at + static_cast<size_t>(i)]);
  return v;
}

struct Record {
  std::string name;
  uint32_t method, crc;
  uint64_t size, local;  // compressed size; offset of the local header
  uint32_t external_attributes;
};

// The MS-DOS directory bit of a record's external attributes. miniz takes such a record for a
// folder and "extracts" it without writing a byte, so LibTorch's reader hands back a buffer of
// the record's size that nothing filled: a load of uninitialised memory as weights.
constexpr uint32_t kDosDirectory = 0x10;

uint64_t le64(const std::string& b, size_t at) {
  return at + 8 > b.size() ? 0 : uint64_t{le(b, at, 4)} | (uint64_t{le(b, at + 4, 4)} << 32);
}

// A record's fields that read 0xFFFFFFFF live in its zip64 extra field (id 1), 8 bytes each,
// in the order uncompressed size, compressed size, local header offset. False when one is
// needed and missing.
bool read_zip64_sizes(const std::string& b, size_t extra, uint32_t extra_len, uint32_t uncompressed, Record& r) {
  constexpr uint32_t kMax = 0xFFFFFFFFu;
  if (uncompressed != kMax && r.size != kMax && r.local != kMax) return true;
  for (size_t q = extra; q + 4 <= extra + extra_len; q += 4 + le(b, q + 2, 2)) {
    if (le(b, q, 2) != 1) continue;
    size_t field = q + 4;
    const size_t field_end = field + le(b, q + 2, 2);
    auto next = [&](uint64_t& value) {
      if (value != kMax) return true;
      if (field + 8 > field_end) return false;
      value = le64(b, field);
      field += 8;
      return true;
    };
    uint64_t u = uncompressed;
    return next(u) && next(r.size) && next(r.local);
  }
  return false;
}

// The central directory's entries, found as LibTorch's miniz finds them: through the zip64
// end record when its locator precedes the end record (torch.save writes one), else through
// the end record. Empty when there is no end record at all (left to LibTorch to reject).
// Throws InputError when the directory holds fewer entries than the end record declares:
// the records it would skip are exactly the ones nobody checks.
std::vector<Record> directory(const std::string& b, const std::filesystem::path& path) {
  const auto damaged = [&](const char* part) {
    return InputError(fmt::format("{}: the zip {} is damaged; the file is corrupt", path.string(), part));
  };
  constexpr uint32_t kEnd = 0x06054b50u, kEntry = 0x02014b50u, kLocator = 0x07064b50u, kEnd64 = 0x06064b50u;
  if (b.size() < 22) return {};
  size_t end = b.size() - 22;
  while (end > 0 && le(b, end, 4) != kEnd && b.size() - end < 22 + 65535) --end;
  if (le(b, end, 4) != kEnd) return {};
  uint64_t entries = le(b, end + 10, 2);
  uint64_t p = le(b, end + 16, 4);
  if (end >= 20 && le(b, end - 20, 4) == kLocator) {
    const uint64_t end64 = le64(b, end - 20 + 8);
    if (end64 > b.size() || le(b, static_cast<size_t>(end64), 4) != kEnd64) throw damaged("zip64 end record");
    entries = le64(b, static_cast<size_t>(end64) + 32);
    p = le64(b, static_cast<size_t>(end64) + 48);
  }
  std::vector<Record> records;
  for (uint64_t i = 0; i < entries; ++i) {
    if (p > b.size() || le(b, static_cast<size_t>(p), 4) != kEntry) throw damaged("central directory");
    const auto at = static_cast<size_t>(p);
    const uint32_t name_len = le(b, at + 28, 2), extra_len = le(b, at + 30, 2);
    Record r{b.substr(std::min(at + 46, b.size()), name_len), le(b, at + 10, 2), le(b, at + 16, 4),
             le(b, at + 20, 4), le(b, at + 42, 4), le(b, at + 38, 4)};
    if (!read_zip64_sizes(b, at + 46 + name_len, extra_len, le(b, at + 24, 4), r)) throw damaged("central directory");
    records.push_back(std::move(r));
    p += 46 + name_len + extra_len + le(b, at + 32, 2);
  }
  return records;
}

}  // namespace

void verify_zip_records(const std::filesystem::path& path, const std::string& b) {
  const auto corrupt = [&](const std::string& name, const char* what) {
    return InputError(fmt::format("{}: record '{}' {}; the file is corrupt", path.string(), name, what));
  };
  for (const auto& r : directory(b, path)) {
    if ((r.external_attributes & kDosDirectory) != 0 || (!r.name.empty() && r.name.back() == '/')) {
      throw corrupt(r.name, "is marked as a folder");
    }
    const auto local = static_cast<size_t>(std::min<uint64_t>(r.local, b.size()));
    const uint32_t name_len = le(b, local + 26, 2);
    if (le(b, local, 4) != 0x04034b50u || local + 30 + name_len > b.size() ||
        b.compare(local + 30, name_len, r.name) != 0) {
      throw corrupt(r.name, "does not match its local header");
    }
    const size_t data = local + 30 + name_len + le(b, local + 28, 2);
    if (r.method == 0 && (data > b.size() || r.size > b.size() - data)) {
      throw corrupt(r.name, "runs past the end of the file");
    }
    uint32_t crc = 0;
    try {
      crc = r.method == 0 ? crc32(reinterpret_cast<const unsigned char*>(b.data()) + data, static_cast<size_t>(r.size))
                          : crc32_of_inflated_record(b, r.name);
    } catch (const c10::Error&) {
      throw corrupt(r.name, "cannot be decompressed");
    }
    if (crc != r.crc) throw corrupt(r.name, "fails its CRC-32 check");
  }
}

}  // namespace charnn
