// Cast between every numeric dtype, bool, float16 and bfloat16 (through double, exact for all
// conversions seer's models use; float->int truncates toward zero like ONNX Runtime).
#include "engine/half.h"
#include "engine/kernels/bf16.h"
#include "engine/ops/op_util.h"

namespace seer::engine {
namespace {

double load_as_double(const void* p, DataType t, int64_t i) {
  switch (t) {
    case DataType::kFloat16: return half_to_float(static_cast<const uint16_t*>(p)[i]);
    case DataType::kBFloat16: return kernels::bf16_to_f32(static_cast<const uint16_t*>(p)[i]);
    case DataType::kBool: return static_cast<const uint8_t*>(p)[i] ? 1.0 : 0.0;
    default: {
      double v = 0;
      ops::dispatch_numeric(t, [&](auto tag) { v = static_cast<double>(static_cast<const decltype(tag)*>(p)[i]); });
      return v;
    }
  }
}

template <typename T>
T to_int(double v) {
  if (std::isnan(v)) return T(0);
  return static_cast<T>(v);
}

void store_double(void* p, DataType t, int64_t i, double v) {
  switch (t) {
    case DataType::kFloat16: static_cast<uint16_t*>(p)[i] = float_to_half(static_cast<float>(v)); break;
    case DataType::kBFloat16: static_cast<uint16_t*>(p)[i] = kernels::f32_to_bf16(static_cast<float>(v)); break;
    case DataType::kBool: static_cast<uint8_t*>(p)[i] = v != 0.0; break;
    case DataType::kFloat32: static_cast<float*>(p)[i] = static_cast<float>(v); break;
    case DataType::kFloat64: static_cast<double*>(p)[i] = v; break;
    default:
      ops::dispatch_numeric(t, [&](auto tag) { static_cast<decltype(tag)*>(p)[i] = to_int<decltype(tag)>(v); });
  }
}

bool castable(DataType t) {
  return t != DataType::kUndefined && t != DataType::kString;
}

}  // namespace

SEER_REGISTER_OPS(cast) {
  registry.add({.name = "Cast", .domain = "", .min_opset = 6, .attributes = {"to", "saturate"},
                .infer = [](InferContext& c) -> Status {
                  const DataType to = dtype_from_onnx(static_cast<int>(c.node().attr_int("to", 0)));
                  if (!castable(to) || !castable(c.input_dtype(0)))
                    return c.unsupported("cast {} -> {}", to_string(c.input_dtype(0)), c.node().attr_int("to", 0));
                  c.set_output(0, to, c.input_shape(0));
                  return Status();
                },
                .create = [](PrepareContext& c) -> StatusOr<std::unique_ptr<OpKernel>> {
                  const DataType from = c.input_dtype(0), to = c.output_dtype(0);
                  return ops::make_kernel([from, to](RunContext& ctx) {
                    const void* x = ctx.input(0).ptr;
                    void* y = ctx.output(0).ptr;
                    const int64_t n = ctx.output(0).numel();
                    if (from == to) {
                      ops::copy_bytes(y, x, ctx.output(0).bytes());
                    } else if (from == DataType::kFloat32 && to == DataType::kBFloat16) {
                      kernels::f32_to_bf16(static_cast<const float*>(x), static_cast<uint16_t*>(y), n);
                    } else if (from == DataType::kBFloat16 && to == DataType::kFloat32) {
                      kernels::bf16_to_f32(static_cast<const uint16_t*>(x), static_cast<float*>(y), n);
                    } else if (from == DataType::kInt64 && to == DataType::kFloat32) {
                      for (int64_t i = 0; i < n; ++i) static_cast<float*>(y)[i] = static_cast<float>(static_cast<const int64_t*>(x)[i]);
                    } else if (from == DataType::kFloat16 && to == DataType::kFloat32) {
#pragma omp parallel for if (n > (1 << 16))
                      for (int64_t i = 0; i < n; ++i) static_cast<float*>(y)[i] = half_to_float(static_cast<const uint16_t*>(x)[i]);
                    } else {
#pragma omp parallel for if (n > (1 << 16))
                      for (int64_t i = 0; i < n; ++i) store_double(y, to, i, load_as_double(x, from, i));
                    }
                    return Status();
                  });
                }});
}

}  // namespace seer::engine
