#include "common/file.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "common/error.h"

namespace charnn {
namespace {

namespace fs = std::filesystem;

// The size of a regular file, or an InputError saying what the path is instead.
uint64_t regular_file_size(const fs::path& path, std::string_view what) {
  const auto name = path.string();
  if (name.empty()) throw InputError(fmt::format("an empty path where {} was expected", what));
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    throw InputError(fmt::format("{}: cannot be read ({})", name, ec.message()));
  }
  if (!fs::exists(status)) throw InputError(fmt::format("{}: no such file", name));
  if (fs::is_directory(status)) throw InputError(fmt::format("{}: is a directory, expected {}", name, what));
  if (!fs::is_regular_file(status)) throw InputError(fmt::format("{}: is not a regular file, expected {}", name, what));
  const auto size = fs::file_size(path, ec);
  if (ec) throw InputError(fmt::format("{}: cannot be read ({})", name, ec.message()));
  return size;
}

std::string read_bytes(const fs::path& path, uint64_t n) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(fmt::format("{}: cannot open ({})", path.string(), std::strerror(errno)));
  std::string bytes(n, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(n));
  if (in.bad()) throw InputError(fmt::format("{}: read failed", path.string()));
  bytes.resize(static_cast<size_t>(in.gcount()));  // a file that shrank while being read
  return bytes;
}

}  // namespace

std::string read_whole_file(const fs::path& path, std::string_view what, uint64_t max_bytes) {
  const auto size = regular_file_size(path, what);
  if (size > max_bytes) {
    throw InputError(fmt::format("{}: {} bytes is larger than the {} bytes read at most for {}", path.string(), size,
                                 max_bytes, what));
  }
  return read_bytes(path, size);
}

std::string read_file_prefix(const fs::path& path, std::string_view what, uint64_t max_bytes) {
  const auto size = regular_file_size(path, what);
  return read_bytes(path, std::min(size, max_bytes));
}

namespace {

constexpr uint64_t kFnvOffset = 14695981039346656037ull, kFnvPrime = 1099511628211ull;

void add_bytes(Digest& d, std::string_view bytes) {
  for (unsigned char c : bytes) d.fnv1a = (d.fnv1a ^ c) * kFnvPrime;
  d.bytes += bytes.size();
}

}  // namespace

Digest digest_of(std::string_view bytes) {
  Digest d{0, kFnvOffset};
  add_bytes(d, bytes);
  return d;
}

Digest digest_file(const fs::path& path, std::string_view what) {
  regular_file_size(path, what);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(fmt::format("{}: cannot open ({})", path.string(), std::strerror(errno)));
  Digest d{0, kFnvOffset};
  std::string block(size_t{1} << 20, '\0');
  while (in) {
    in.read(block.data(), static_cast<std::streamsize>(block.size()));
    add_bytes(d, std::string_view(block.data(), static_cast<size_t>(in.gcount())));
  }
  if (in.bad()) throw InputError(fmt::format("{}: read failed", path.string()));
  return d;
}

}  // namespace charnn
