// InstanceNormalization (tf2onnx rewrites some LayerNorms into it), GlobalMaxPool, ArgMax/ArgMin.
#include <cmath>
#include <limits>

#include "engine/ops/op_util.h"

namespace seer::engine {
namespace {
using namespace ops;

Status infer_same_float_nc(InferContext& c) {
  const Shape& in = c.input_shape(0);
  if (c.input_dtype(0) != DataType::kFloat32 || in.rank() < 3)
    return c.unsupported("input {} {}", to_string(c.input_dtype(0)), in.to_string());
  c.set_output(0, DataType::kFloat32, in);
  return Status();
}

template <bool kMax>
Status infer_arg(InferContext& c) {
  const Shape& in = c.input_shape(0);
  if (c.input_dtype(0) != DataType::kFloat32 && c.input_dtype(0) != DataType::kInt64 && c.input_dtype(0) != DataType::kInt32)
    return c.unsupported("input {}", to_string(c.input_dtype(0)));
  SEER_ASSIGN_OR_RETURN(int axis, normalize_axis(c, c.node().attr_int("axis", 0), in.rank()));
  Shape out = in;
  if (c.node().attr_int("keepdims", 1)) out[axis] = 1;
  else out.erase(axis);
  c.set_output(0, DataType::kInt64, out);
  return Status();
}

template <bool kMax>
StatusOr<std::unique_ptr<OpKernel>> create_arg(PrepareContext& c) {
  const Shape in = c.input_shape(0);
  SEER_ASSIGN_OR_RETURN(int axis, normalize_axis(c, c.node().attr_int("axis", 0), in.rank()));
  const bool last = c.node().attr_int("select_last_index", 0) != 0;
  const int64_t outer = in.numel(0, axis), n = in[axis], inner = in.numel(axis + 1, in.rank());
  return make_kernel([=](RunContext& ctx) {
    int64_t* y = ctx.output(0).data<int64_t>();
    bool ok = dispatch_numeric(ctx.input(0).dtype, [&](auto tag) {
      using T = decltype(tag);
      const T* x = ctx.input(0).data<T>();
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) {
          int64_t best = 0;
          T bv = x[o * n * inner + i];
          for (int64_t k = 1; k < n; ++k) {
            const T v = x[(o * n + k) * inner + i];
            const bool better = kMax ? (last ? v >= bv : v > bv) : (last ? v <= bv : v < bv);
            if (better) { bv = v; best = k; }
          }
          y[o * inner + i] = best;
        }
    });
    return ok ? Status() : Status::internal("ArgMax type");
  });
}

}  // namespace

SEER_REGISTER_OPS(norm_argmax) {
  registry.add({.name = "InstanceNormalization", .domain = "", .min_opset = 6, .attributes = {"epsilon"},
                .infer = infer_same_float_nc,
                .create = [](PrepareContext& c) -> StatusOr<std::unique_ptr<OpKernel>> {
                  const Shape in = c.input_shape(0);
                  const float eps = c.node().attr_float("epsilon", 1e-5f);
                  const int64_t batch = in[0], ch = in[1], n = in.numel(2, in.rank());
                  return make_kernel([=](RunContext& ctx) {
                    const float* x = ctx.input(0).data<float>();
                    const float* scale = ctx.input(1).data<float>();
                    const float* bias = ctx.input(2).data<float>();
                    float* y = ctx.output(0).data<float>();
#pragma omp parallel for if (batch * ch * n > (1 << 16))
                    for (int64_t r = 0; r < batch * ch; ++r) {
                      const float* px = x + r * n;
                      double mean = 0, var = 0;
                      for (int64_t i = 0; i < n; ++i) mean += px[i];
                      mean /= static_cast<double>(n);
                      for (int64_t i = 0; i < n; ++i) var += (px[i] - mean) * (px[i] - mean);
                      var /= static_cast<double>(n);
                      const int64_t c2 = r % ch;
                      const float inv = static_cast<float>(1.0 / std::sqrt(var + eps));
                      for (int64_t i = 0; i < n; ++i)
                        y[r * n + i] = (px[i] - static_cast<float>(mean)) * inv * scale[c2] + bias[c2];
                    }
                    return Status();
                  });
                }});
  registry.add({.name = "GlobalMaxPool", .domain = "", .min_opset = 1, .attributes = {},
                .infer = [](InferContext& c) -> Status {
                  SEER_RETURN_IF_ERROR(infer_same_float_nc(c));
                  Shape out = c.input_shape(0);
                  for (int i = 2; i < out.rank(); ++i) out[i] = 1;
                  c.set_output(0, DataType::kFloat32, out);
                  return Status();
                },
                .create = [](PrepareContext& c) -> StatusOr<std::unique_ptr<OpKernel>> {
                  const Shape in = c.input_shape(0);
                  const int64_t rows = in[0] * in[1], n = in.numel(2, in.rank());
                  return make_kernel([rows, n](RunContext& ctx) {
                    const float* x = ctx.input(0).data<float>();
                    float* y = ctx.output(0).data<float>();
                    for (int64_t r = 0; r < rows; ++r) {
                      float m = -std::numeric_limits<float>::infinity();
                      for (int64_t i = 0; i < n; ++i) m = std::max(m, x[r * n + i]);
                      y[r] = m;
                    }
                    return Status();
                  });
                }});
  registry.add({.name = "ArgMax", .domain = "", .min_opset = 1, .attributes = {"axis", "keepdims", "select_last_index"},
                .infer = infer_arg<true>, .create = create_arg<true>});
  registry.add({.name = "ArgMin", .domain = "", .min_opset = 1, .attributes = {"axis", "keepdims", "select_last_index"},
                .infer = infer_arg<false>, .create = create_arg<false>});
}

}  // namespace seer::engine
