// Softmax and LogSoftmax (ai.onnx) on engine/kernels/normalization.h. Opset 13+: one axis
// (default -1). Opsets 1-12: the input is coerced to 2-D at `axis` (default 1) and normalised
// over everything from `axis` on.
#include "engine/kernels/normalization.h"
#include "engine/op.h"

namespace seer::engine {
namespace {

class SoftmaxKernel final : public OpKernel {
 public:
  SoftmaxKernel(int64_t outer, int64_t len, int64_t inner, bool log) : outer_(outer), len_(len), inner_(inner), log_(log) {}
  Status run(RunContext& ctx) const override {
    kernels::softmax(ctx.input(0).data<float>(), ctx.output(0).data<float>(), outer_, len_, inner_, log_);
    return Status();
  }

 private:
  int64_t outer_, len_, inner_;
  bool log_;
};

OpDef make_def(const char* name, bool log) {
  return {.name = name,
          .domain = "",
          .min_opset = 1,
          .attributes = {"axis"},
          .infer = [](InferContext& c) -> Status {
            if (c.input_dtype(0) != DataType::kFloat32) return c.unsupported("dtype {} (only float32)", to_string(c.input_dtype(0)));
            const int rank = c.input_shape(0).rank();
            int64_t axis = c.node().attr_int("axis", c.opset() >= 13 ? -1 : 1);
            if (axis < 0) axis += rank;
            if (rank == 0 || axis < 0 || axis >= rank) return c.error("axis {} for rank {}", c.node().attr_int("axis", 0), rank);
            c.set_output(0, DataType::kFloat32, c.input_shape(0));
            return Status();
          },
          .create = [log](PrepareContext& c) -> StatusOr<std::unique_ptr<OpKernel>> {
            const Shape& x = c.input_shape(0);
            int64_t axis = c.node().attr_int("axis", c.opset() >= 13 ? -1 : 1);
            if (axis < 0) axis += x.rank();
            const int a = static_cast<int>(axis);
            if (c.opset() >= 13)
              return std::unique_ptr<OpKernel>(new SoftmaxKernel(x.numel(0, a), x[a], x.numel(a + 1, x.rank()), log));
            return std::unique_ptr<OpKernel>(new SoftmaxKernel(x.numel(0, a), x.numel(a, x.rank()), 1, log));
          }};
}

}  // namespace

SEER_REGISTER_OPS(softmax) {
  registry.add(make_def("Softmax", false));
  registry.add(make_def("LogSoftmax", true));
}

}  // namespace seer::engine
