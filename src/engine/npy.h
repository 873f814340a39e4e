// Reading and writing NumPy .npy files (format 1.0/2.0/3.0, little-endian, C order) for
// `seer onnx-run` and tests.
//
//   SEER_ASSIGN_OR_RETURN(NpyArray a, read_npy("x.npy"));     // a.dtype, a.shape, a.data
//   Tensor t = a.tensor();
//   SEER_RETURN_IF_ERROR(write_npy("y.npy", t));
//
// Types: f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1. Fortran order and big-endian data are
// InvalidArgument. The array owns its bytes (plain heap: a tool-side staging copy, not a model
// buffer). Thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/tensor.h"

namespace seer::engine {

struct NpyArray {
  DataType dtype = DataType::kUndefined;
  Shape shape;
  std::vector<uint8_t> data;
  Tensor tensor() { return Tensor(dtype, shape, data.data()); }
};

StatusOr<NpyArray> parse_npy(const std::string& bytes);
StatusOr<NpyArray> read_npy(const std::string& path);
std::string encode_npy(const Tensor& t);
Status write_npy(const std::string& path, const Tensor& t);

}  // namespace seer::engine
