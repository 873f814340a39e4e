#include "image/npy_writer.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace seer {

std::string npy_f32_bytes(std::span<const float> data, const std::vector<int64_t>& shape) {
  std::string dims;
  for (size_t i = 0; i < shape.size(); ++i) {
    dims += std::to_string(shape[i]);
    if (shape.size() == 1 || i + 1 < shape.size()) dims += ",";
    if (i + 1 < shape.size()) dims += " ";
  }
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  // Magic (6) + version (2) + header length (2) + header, padded with spaces to a multiple of
  // 64 and ended by '\n', as numpy writes it.
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header.push_back('\n');
  std::string out("\x93NUMPY\x01\x00", 8);
  out.push_back(static_cast<char>(header.size() & 0xff));
  out.push_back(static_cast<char>(header.size() >> 8));
  out += header;
  // x86-64 and aarch64 are little-endian, which '<f4' declares.
  out.append(reinterpret_cast<const char*>(data.data()), data.size_bytes());
  return out;
}

Status write_npy_f32(const std::string& path, std::span<const float> data,
                     const std::vector<int64_t>& shape) {
  int64_t count = 1;
  for (int64_t d : shape) count *= d;
  if (count != static_cast<int64_t>(data.size())) {
    return Status::invalid_argument("npy: shape holds {} elements but data has {}", count,
                                    data.size());
  }
  const std::string bytes = npy_f32_bytes(data, shape);
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (!f) return Status::internal("cannot write '{}': {}", path, std::strerror(errno));
  if (std::fwrite(bytes.data(), 1, bytes.size(), f.get()) != bytes.size()) {
    return Status::internal("writing '{}' failed: {}", path, std::strerror(errno));
  }
  return Status::ok_status();
}

}  // namespace seer
