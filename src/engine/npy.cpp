#include "engine/npy.h"

#include <cstring>
#include <fstream>
#include <sstream>

namespace seer::engine {
namespace {

DataType from_descr(const std::string& d) {
  if (d.size() < 3 || d[0] == '>') return DataType::kUndefined;
  const std::string k = d.substr(1);
  if (k == "f4") return DataType::kFloat32;
  if (k == "f8") return DataType::kFloat64;
  if (k == "f2") return DataType::kFloat16;
  if (k == "i1") return DataType::kInt8;
  if (k == "i2") return DataType::kInt16;
  if (k == "i4") return DataType::kInt32;
  if (k == "i8") return DataType::kInt64;
  if (k == "u1") return DataType::kUInt8;
  if (k == "u2") return DataType::kUInt16;
  if (k == "u4") return DataType::kUInt32;
  if (k == "u8") return DataType::kUInt64;
  if (k == "b1") return DataType::kBool;
  return DataType::kUndefined;
}

const char* to_descr(DataType t) {
  switch (t) {
    case DataType::kFloat32: return "<f4";
    case DataType::kFloat64: return "<f8";
    case DataType::kFloat16: return "<f2";
    case DataType::kInt8: return "|i1";
    case DataType::kInt16: return "<i2";
    case DataType::kInt32: return "<i4";
    case DataType::kInt64: return "<i8";
    case DataType::kUInt8: return "|u1";
    case DataType::kUInt16: return "<u2";
    case DataType::kUInt32: return "<u4";
    case DataType::kUInt64: return "<u8";
    case DataType::kBool: return "|b1";
    default: return nullptr;
  }
}

// The value after 'key': in the header dict, as raw text up to the matching delimiter.
std::string dict_value(const std::string& h, const std::string& key) {
  size_t p = h.find("'" + key + "'");
  if (p == std::string::npos) return {};
  p = h.find(':', p);
  if (p == std::string::npos) return {};
  ++p;
  while (p < h.size() && h[p] == ' ') ++p;
  if (p >= h.size()) return {};
  if (h[p] == '\'') {
    size_t e = h.find('\'', p + 1);
    return h.substr(p + 1, e - p - 1);
  }
  if (h[p] == '(') {
    size_t e = h.find(')', p);
    return h.substr(p, e - p + 1);
  }
  size_t e = h.find_first_of(",}", p);
  return h.substr(p, e - p);
}

}  // namespace

StatusOr<NpyArray> parse_npy(const std::string& b) {
  if (b.size() < 10 || std::memcmp(b.data(), "\x93NUMPY", 6) != 0)
    return Status::invalid_argument("not a .npy file");
  const int major = static_cast<uint8_t>(b[6]);
  size_t hlen, hstart;
  if (major == 1) {
    hlen = static_cast<uint8_t>(b[8]) | (static_cast<uint8_t>(b[9]) << 8);
    hstart = 10;
  } else {
    if (b.size() < 12) return Status::invalid_argument("truncated .npy header");
    uint32_t l;
    std::memcpy(&l, b.data() + 8, 4);
    hlen = l;
    hstart = 12;
  }
  if (hstart + hlen > b.size()) return Status::invalid_argument("truncated .npy header");
  const std::string h = b.substr(hstart, hlen);
  NpyArray a;
  a.dtype = from_descr(dict_value(h, "descr"));
  if (a.dtype == DataType::kUndefined)
    return Status::invalid_argument(".npy dtype '{}' not supported", dict_value(h, "descr"));
  if (dict_value(h, "fortran_order").find("True") != std::string::npos)
    return Status::invalid_argument(".npy in Fortran order is not supported");
  std::string shape = dict_value(h, "shape");
  for (size_t p = 0; p < shape.size();) {
    if (isdigit(static_cast<unsigned char>(shape[p]))) {
      size_t e = p;
      while (e < shape.size() && isdigit(static_cast<unsigned char>(shape[e]))) ++e;
      if (a.shape.rank() >= kMaxRank) return Status::invalid_argument(".npy rank too large");
      a.shape.push_back(std::stoll(shape.substr(p, e - p)));
      p = e;
    } else {
      ++p;
    }
  }
  const size_t bytes = byte_size(a.dtype, a.shape);
  if (b.size() - hstart - hlen < bytes)
    return Status::invalid_argument(".npy data truncated ({} of {} bytes)", b.size() - hstart - hlen, bytes);
  a.data.assign(b.begin() + hstart + hlen, b.begin() + hstart + hlen + bytes);
  return a;
}

StatusOr<NpyArray> read_npy(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::not_found("cannot open '{}'", path);
  std::stringstream ss;
  ss << f.rdbuf();
  auto r = parse_npy(ss.str());
  if (!r.ok()) return r.status().with_context(path);
  return r;
}

std::string encode_npy(const Tensor& t) {
  const char* d = to_descr(t.dtype);
  std::string shape = "(";
  for (int i = 0; i < t.shape.rank(); ++i) shape += std::to_string(t.shape[i]) + (t.shape.rank() == 1 ? "," : (i + 1 < t.shape.rank() ? ", " : ""));
  shape += ")";
  std::string h = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}", d ? d : "<f4", shape);
  const size_t total = 10 + h.size() + 1;
  h.append((64 - total % 64) % 64, ' ');
  h += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(h.size() & 0xff);
  out += static_cast<char>((h.size() >> 8) & 0xff);
  out += h;
  out.append(static_cast<const char*>(t.ptr), t.bytes());
  return out;
}

Status write_npy(const std::string& path, const Tensor& t) {
  if (!to_descr(t.dtype)) return Status::unsupported("cannot write {} as .npy", to_string(t.dtype));
  std::ofstream f(path, std::ios::binary);
  const std::string s = encode_npy(t);
  f.write(s.data(), static_cast<std::streamsize>(s.size()));
  if (!f) return Status::internal("cannot write '{}'", path);
  return Status();
}

}  // namespace seer::engine
