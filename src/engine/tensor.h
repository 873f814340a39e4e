// A tensor view: element type, shape and a pointer. It owns nothing; the bytes live in a ledger
// Buffer (weights of the Model, or the ExecutionContext's arena) or in caller memory (inputs).
//
//   Tensor t{DataType::kFloat32, Shape{2, 3}, buffer.data()};
//   float* p = t.data<float>();      // asserts the dtype in debug builds
//   size_t n = t.bytes();            // 24
//
// Row-major and dense (no strides: every op writes dense outputs). Trivially copyable, so it can
// be built on the run path without allocating. Thread-safety is that of the memory it points to.
#pragma once

#include <cassert>
#include <cstddef>

#include "engine/dtype.h"
#include "engine/shape.h"

namespace seer::engine {

// Bytes of a dense tensor of this type and shape.
inline size_t byte_size(DataType t, const Shape& s) {
  return static_cast<size_t>(s.numel()) * dtype_size(t);
}

struct Tensor {
  DataType dtype = DataType::kUndefined;
  Shape shape;
  void* ptr = nullptr;

  Tensor() = default;
  Tensor(DataType t, const Shape& s, void* p) : dtype(t), shape(s), ptr(p) {}
  Tensor(DataType t, const Shape& s, const void* p) : dtype(t), shape(s), ptr(const_cast<void*>(p)) {}

  int64_t numel() const { return shape.numel(); }
  size_t bytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype); }
  int rank() const { return shape.rank(); }

  template <typename T> T* data() {
    assert(dtype_of<T>() == dtype || (sizeof(T) == dtype_size(dtype)));
    return static_cast<T*>(ptr);
  }
  template <typename T> const T* data() const {
    assert(dtype_of<T>() == dtype || (sizeof(T) == dtype_size(dtype)));
    return static_cast<const T*>(ptr);
  }
  void* raw() { return ptr; }
  const void* raw() const { return ptr; }
};

}  // namespace seer::engine
