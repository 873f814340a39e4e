// BatchNormalization (ai.onnx), inference form, on engine/kernels/normalization.h: the statistics
// fold into a per-channel affine (in scratch, per run: C multiply-adds) applied in one pass.
// training_mode = 1 and the running-statistics outputs are Unsupported.
#include "engine/kernels/normalization.h"
#include "engine/op.h"

namespace seer::engine {
namespace {

class BatchNormKernel final : public OpKernel {
 public:
  BatchNormKernel(float eps, int64_t n, int64_t c, int64_t inner) : eps_(eps), n_(n), c_(c), inner_(inner) {}
  Status run(RunContext& ctx) const override {
    float* a = static_cast<float*>(ctx.scratch());
    float* b = a + kernels::align64(c_ * sizeof(float)) / sizeof(float);
    kernels::fold_batch_norm(ctx.input(1).data<float>(), ctx.input(2).data<float>(), ctx.input(3).data<float>(),
                             ctx.input(4).data<float>(), eps_, c_, a, b);
    kernels::channel_affine(ctx.input(0).data<float>(), a, b, ctx.output(0).data<float>(), n_, c_, inner_);
    return Status();
  }

 private:
  float eps_;
  int64_t n_, c_, inner_;
};

}  // namespace

SEER_REGISTER_OPS(batch_norm) {
  registry.add({.name = "BatchNormalization",
                .domain = "",
                .min_opset = 1,
                .attributes = {"epsilon", "momentum", "training_mode", "spatial", "is_test", "consumed_inputs"},
                .infer = [](InferContext& c) -> Status {
                  for (int i = 0; i < 5; ++i)
                    if (!c.has_input(i) || c.input_dtype(i) != DataType::kFloat32)
                      return c.unsupported("input {} missing or not float32", i);
                  if (c.node().attr_int("training_mode", 0) != 0) return c.unsupported("training_mode 1");
                  if (c.node().attr_int("spatial", 1) != 1) return c.unsupported("spatial 0");
                  for (int i = 1; i < c.num_outputs(); ++i)
                    if (c.has_output(i)) return c.unsupported("output {} (training statistics)", i);
                  const Shape& x = c.input_shape(0);
                  if (x.rank() < 2) return c.error("input rank {}", x.rank());
                  for (int i = 1; i < 5; ++i)
                    if (c.input_shape(i).numel() != x[1]) return c.error("input {} has {} values for {} channels", i, c.input_shape(i).numel(), x[1]);
                  c.set_output(0, DataType::kFloat32, x);
                  return Status();
                },
                .create = [](PrepareContext& c) -> StatusOr<std::unique_ptr<OpKernel>> {
                  const Shape& x = c.input_shape(0);
                  c.request_scratch(x[1] * sizeof(float));
                  c.request_scratch(x[1] * sizeof(float));
                  return std::unique_ptr<OpKernel>(new BatchNormKernel(c.node().attr_float("epsilon", 1e-5f), x[0], x[1], x.numel(2, x.rank())));
                }});
}

}  // namespace seer::engine
