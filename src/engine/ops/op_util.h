// Helpers shared by the engine's op files: axis handling, broadcasting, reading small constant
// inputs (axes, shapes) and dispatching on dtypes. Internal to src/engine/ops/.
//
//   SEER_ASSIGN_OR_RETURN(int axis, normalize_axis(c, c.node().attr_int("axis", 0), rank));
//   SEER_ASSIGN_OR_RETURN(Shape out, broadcast_shapes(c, a, b));
//   std::vector<int64_t> axes;  SEER_RETURN_IF_ERROR(read_ints(c, 1, &axes));
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "engine/op.h"

namespace seer::engine::ops {

inline StatusOr<int> normalize_axis(const NodeContext& c, int64_t axis, int rank) {
  if (axis < -rank || axis >= std::max(rank, 1))
    return c.error("axis {} out of range for rank {}", axis, rank);
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

inline StatusOr<Shape> broadcast_shapes(const NodeContext& c, const Shape& a, const Shape& b) {
  const int r = std::max(a.rank(), b.rank());
  Shape out;
  out.resize(r);
  for (int i = 0; i < r; ++i) {
    int64_t da = i - (r - a.rank()) >= 0 ? a[i - (r - a.rank())] : 1;
    int64_t db = i - (r - b.rank()) >= 0 ? b[i - (r - b.rank())] : 1;
    if (da != db && da != 1 && db != 1)
      return c.error("shapes {} and {} do not broadcast", a.to_string(), b.to_string());
    out[i] = da == 1 ? db : da;
  }
  return out;
}

// Reads a constant integer input (int64 or int32) into `out`; error when it is not constant.
inline Status read_ints(const NodeContext& c, int input, std::vector<int64_t>* out) {
  const Tensor* t = c.constant_input(input);
  if (!t) return c.unsupported("input {} must be known at load (a constant or a shape)", input);
  out->resize(t->numel());
  if (t->dtype == DataType::kInt64) std::memcpy(out->data(), t->ptr, t->bytes());
  else if (t->dtype == DataType::kInt32)
    for (int64_t i = 0; i < t->numel(); ++i) (*out)[i] = static_cast<const int32_t*>(t->ptr)[i];
  else return c.error("input {} must be int64, is {}", input, to_string(t->dtype));
  return Status();
}

inline double read_scalar(const Tensor& t) {
  switch (t.dtype) {
    case DataType::kFloat32: return *t.data<float>();
    case DataType::kFloat64: return *t.data<double>();
    case DataType::kInt64: return static_cast<double>(*t.data<int64_t>());
    case DataType::kInt32: return *t.data<int32_t>();
    case DataType::kInt8: return *t.data<int8_t>();
    case DataType::kUInt8: return *t.data<uint8_t>();
    case DataType::kBool: return *t.data<bool>();
    default: return 0;
  }
}

// Row-major strides of a shape.
inline void strides_of(const Shape& s, int64_t* st) {
  int64_t acc = 1;
  for (int i = s.rank() - 1; i >= 0; --i) {
    st[i] = acc;
    acc *= s[i];
  }
}

// Calls fn(T{}) with T the C++ type of dtype among the numeric types; false when not numeric.
template <typename Fn>
bool dispatch_numeric(DataType t, Fn&& fn) {
  switch (t) {
    case DataType::kFloat32: fn(float{}); return true;
    case DataType::kFloat64: fn(double{}); return true;
    case DataType::kInt64: fn(int64_t{}); return true;
    case DataType::kInt32: fn(int32_t{}); return true;
    case DataType::kInt16: fn(int16_t{}); return true;
    case DataType::kInt8: fn(int8_t{}); return true;
    case DataType::kUInt8: fn(uint8_t{}); return true;
    case DataType::kUInt16: fn(uint16_t{}); return true;
    case DataType::kUInt32: fn(uint32_t{}); return true;
    case DataType::kUInt64: fn(uint64_t{}); return true;
    default: return false;
  }
}

// Copies bytes of any dtype: an element is moved as an opaque unit of its size.
inline void copy_bytes(void* dst, const void* src, size_t n) {
  if (n) std::memcpy(dst, src, n);
}

// An OpKernel from a lambda (state captured by value): the common case for simple ops.
template <typename Fn>
class LambdaKernel final : public OpKernel {
 public:
  explicit LambdaKernel(Fn fn) : fn_(std::move(fn)) {}
  Status run(RunContext& ctx) const override { return fn_(ctx); }

 private:
  Fn fn_;
};
template <typename Fn>
std::unique_ptr<OpKernel> make_kernel(Fn fn) {
  return std::make_unique<LambdaKernel<Fn>>(std::move(fn));
}

// Kernel whose output is a byte copy of input 0 (Identity, Reshape, Squeeze, ...).
std::unique_ptr<OpKernel> make_copy_kernel();

}  // namespace seer::engine::ops
