#include "train/zip_check.h"

#include <caffe2/serialize/inline_container.h>
#include <fmt/format.h>

#include <array>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "data/errors.h"

namespace charnn {
namespace {

uint32_t crc32(const unsigned char* p, size_t n) {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

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
  uint32_t method, crc, size, local;
};

// The central directory's entries; empty when there is no end record to find it by.
std::vector<Record> directory(const std::string& b) {
  constexpr uint32_t kEnd = 0x06054b50u, kEntry = 0x02014b50u;
  if (b.size() < 22) return {};
  size_t end = b.size() - 22;
  while (end > 0 && le(b, end, 4) != kEnd && b.size() - end < 22 + 65535) --end;
  if (le(b, end, 4) != kEnd) return {};
  std::vector<Record> records;
  size_t p = le(b, end + 16, 4);
  for (uint32_t i = 0, n = le(b, end + 10, 2); i < n && le(b, p, 4) == kEntry; ++i) {
    const uint32_t name_len = le(b, p + 28, 2);
    records.push_back({b.substr(std::min(p + 46, b.size()), name_len), le(b, p + 10, 2), le(b, p + 16, 4),
                       le(b, p + 20, 4), le(b, p + 42, 4)});
    p += 46 + name_len + le(b, p + 30, 2) + le(b, p + 32, 2);
  }
  return records;
}

// A compressed record's content, inflated by LibTorch's own reader (names without the
// archive's top directory).
uint32_t inflated_crc(const std::filesystem::path& path, const std::string& name) {
  caffe2::serialize::PyTorchStreamReader reader(path.string());
  const auto [data, size] = reader.getRecord(name.substr(name.find('/') + 1));
  return crc32(static_cast<const unsigned char*>(data.get()), size);
}

}  // namespace

void verify_zip_records(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto corrupt = [&](const std::string& name, const char* what) {
    return InputError(fmt::format("{}: record '{}' {}; the file is corrupt", path.string(), name, what));
  };
  for (const auto& r : directory(b)) {
    if (r.size == 0xFFFFFFFFu || r.local == 0xFFFFFFFFu) return;  // zip64: not walked here
    const uint32_t name_len = le(b, r.local + 26, 2);
    if (le(b, r.local, 4) != 0x04034b50u || size_t{r.local} + 30 + name_len > b.size() ||
        b.compare(r.local + 30, name_len, r.name) != 0) {
      throw corrupt(r.name, "does not match its local header");
    }
    const size_t data = size_t{r.local} + 30 + name_len + le(b, r.local + 28, 2);
    if (r.method == 0 && data + r.size > b.size()) throw corrupt(r.name, "runs past the end of the file");
    uint32_t crc = 0;
    try {
      crc = r.method == 0 ? crc32(reinterpret_cast<const unsigned char*>(b.data()) + data, r.size)
                          : inflated_crc(path, r.name);
    } catch (const c10::Error&) {
      throw corrupt(r.name, "cannot be decompressed");
    }
    if (crc != r.crc) throw corrupt(r.name, "fails its CRC-32 check");
  }
}

}  // namespace charnn
