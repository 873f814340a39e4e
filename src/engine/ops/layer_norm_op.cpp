// LayerNormalization (ai.onnx opset 17; also what the fusion pass makes of the decomposed
// ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div/Mul/Add pattern) on engine/kernels/normalization.h.
// Scale and bias must cover the normalised dims exactly (numel = prod(X.shape[axis:])). The
// optional Mean and InvStdDev outputs are computed in a second, plain pass when asked for.
#include <cmath>

#include "engine/kernels/normalization.h"
#include "engine/op.h"

namespace seer::engine {
namespace {

class LayerNormKernel final : public OpKernel {
 public:
  LayerNormKernel(int64_t rows, int64_t cols, float eps) : rows_(rows), cols_(cols), eps_(eps) {}
  Status run(RunContext& ctx) const override {
    const float* x = ctx.input(0).data<float>();
    const float* beta = ctx.has_input(2) ? ctx.input(2).data<float>() : nullptr;
    kernels::layer_norm(x, ctx.input(1).data<float>(), beta, ctx.output(0).data<float>(), rows_, cols_, eps_);
    const bool want_mean = ctx.num_outputs() > 1 && ctx.output(1).ptr;
    const bool want_inv = ctx.num_outputs() > 2 && ctx.output(2).ptr;
    if (want_mean || want_inv) {
      for (int64_t r = 0; r < rows_; ++r) {
        const float* xr = x + r * cols_;
        double mean = 0, var = 0;
        for (int64_t i = 0; i < cols_; ++i) mean += xr[i];
        mean /= cols_;
        for (int64_t i = 0; i < cols_; ++i) var += (xr[i] - mean) * (xr[i] - mean);
        var /= cols_;
        if (want_mean) ctx.output(1).data<float>()[r] = static_cast<float>(mean);
        if (want_inv) ctx.output(2).data<float>()[r] = static_cast<float>(1.0 / std::sqrt(var + eps_));
      }
    }
    return Status();
  }

 private:
  int64_t rows_, cols_;
  float eps_;
};

int normalized_axis(const NodeContext& c) {
  const int rank = c.input_shape(0).rank();
  int64_t axis = c.node().attr_int("axis", -1);
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

}  // namespace

SEER_REGISTER_OPS(layer_norm) {
  registry.add({.name = "LayerNormalization",
                .domain = "",
                .min_opset = 17,
                .attributes = {"axis", "epsilon", "stash_type"},
                .infer = [](InferContext& c) -> Status {
                  for (int i = 0; i < 3; ++i)
                    if (c.has_input(i) && c.input_dtype(i) != DataType::kFloat32)
                      return c.unsupported("input {} has dtype {} (only float32)", i, to_string(c.input_dtype(i)));
                  if (c.node().attr_int("stash_type", 1) != 1) return c.unsupported("stash_type other than float32");
                  const Shape& x = c.input_shape(0);
                  const int axis = normalized_axis(c);
                  if (axis < 0 || axis >= std::max(x.rank(), 1)) return c.error("axis {} for rank {}", axis, x.rank());
                  const int64_t cols = x.numel(axis, x.rank());
                  if (c.input_shape(1).numel() != cols) return c.unsupported("scale with {} values for {} normalised", c.input_shape(1).numel(), cols);
                  if (c.has_input(2) && c.input_shape(2).numel() != cols) return c.unsupported("bias with {} values for {} normalised", c.input_shape(2).numel(), cols);
                  c.set_output(0, DataType::kFloat32, x);
                  Shape stats = x;
                  for (int i = axis; i < x.rank(); ++i) stats[i] = 1;
                  if (c.has_output(1)) c.set_output(1, DataType::kFloat32, stats);
                  if (c.has_output(2)) c.set_output(2, DataType::kFloat32, stats);
                  return Status();
                },
                .create = [](PrepareContext& c) -> StatusOr<std::unique_ptr<OpKernel>> {
                  const Shape& x = c.input_shape(0);
                  const int axis = normalized_axis(c);
                  return std::unique_ptr<OpKernel>(new LayerNormKernel(x.numel(0, axis), x.numel(axis, x.rank()), c.node().attr_float("epsilon", 1e-5f)));
                }});
}

}  // namespace seer::engine
