// Element types of engine tensors, numbered as ONNX's TensorProto.DataType so import is a cast.
//
//   DataType t = DataType::kFloat32;
//   size_t bytes = dtype_size(t) * n;          // 4 * n
//   log::info("{}", to_string(t));             // "float32"
//
// Plain values; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace seer::engine {

enum class DataType : uint8_t {
  kUndefined = 0,
  kFloat32 = 1,
  kUInt8 = 2,
  kInt8 = 3,
  kUInt16 = 4,
  kInt16 = 5,
  kInt32 = 6,
  kInt64 = 7,
  kString = 8,  // recognised so import can name it; no op computes on strings
  kBool = 9,    // one byte per element, 0 or 1
  kFloat16 = 10,
  kFloat64 = 11,
  kUInt32 = 12,
  kUInt64 = 13,
  kBFloat16 = 16,
};

// Bytes per element; 0 for kUndefined and kString.
size_t dtype_size(DataType t);
// "float32", "int64", "bool", ... ("undefined" for anything unknown).
std::string_view to_string(DataType t);
// From ONNX's TensorProto.DataType number; kUndefined when seer does not know it.
DataType dtype_from_onnx(int onnx_type);
bool is_float(DataType t);    // float16, bfloat16, float32, float64
bool is_integer(DataType t);  // signed and unsigned ints (not bool)

// Maps a C++ type to its DataType: dtype_of<float>() == DataType::kFloat32.
template <typename T> constexpr DataType dtype_of();
template <> constexpr DataType dtype_of<float>() { return DataType::kFloat32; }
template <> constexpr DataType dtype_of<double>() { return DataType::kFloat64; }
template <> constexpr DataType dtype_of<int64_t>() { return DataType::kInt64; }
template <> constexpr DataType dtype_of<int32_t>() { return DataType::kInt32; }
template <> constexpr DataType dtype_of<int16_t>() { return DataType::kInt16; }
template <> constexpr DataType dtype_of<int8_t>() { return DataType::kInt8; }
template <> constexpr DataType dtype_of<uint8_t>() { return DataType::kUInt8; }
template <> constexpr DataType dtype_of<uint16_t>() { return DataType::kUInt16; }
template <> constexpr DataType dtype_of<uint32_t>() { return DataType::kUInt32; }
template <> constexpr DataType dtype_of<uint64_t>() { return DataType::kUInt64; }
template <> constexpr DataType dtype_of<bool>() { return DataType::kBool; }

}  // namespace seer::engine
