// MaxPool (with its optional Indices output) and AveragePool (ai.onnx), 1-D and 2-D NCHW, on
// engine/kernels/pool.h. 3-D pooling and AveragePool dilations (opset 19) are Unsupported.
#include "engine/kernels/pool.h"
#include "engine/op.h"

namespace seer::engine {
namespace {

using kernels::Pool;
using kernels::PoolParams;

StatusOr<PoolParams> read_params(const NodeContext& c, PoolParams::Kind kind) {
  const Node& node = c.node();
  if (c.input_dtype(0) != DataType::kFloat32) return c.unsupported("dtype {} (only float32)", to_string(c.input_dtype(0)));
  const Shape& x = c.input_shape(0);
  if (x.rank() != 3 && x.rank() != 4) return c.unsupported("{}-D pooling (only 1-D and 2-D)", x.rank() - 2);
  const int nsp = x.rank() - 2, off = 2 - nsp;
  int64_t in[2] = {1, 1}, k[2] = {1, 1}, st[2] = {1, 1}, dil[2] = {1, 1}, pads[4] = {0, 0, 0, 0};
  for (int i = 0; i < nsp; ++i) in[off + i] = x[2 + i];
  auto read = [&](const char* name, int64_t* dst, int per_dim) -> Status {
    auto v = node.attr_ints(name);
    if (v.empty()) return Status();
    if (static_cast<int>(v.size()) != nsp * per_dim) return c.error("{} has {} values", name, v.size());
    for (int r = 0; r < per_dim; ++r)
      for (int i = 0; i < nsp; ++i) dst[r * 2 + off + i] = v[r * nsp + i];
    return Status();
  };
  if (node.attr_ints("kernel_shape").empty()) return c.error("kernel_shape is required");
  SEER_RETURN_IF_ERROR(read("kernel_shape", k, 1));
  SEER_RETURN_IF_ERROR(read("strides", st, 1));
  SEER_RETURN_IF_ERROR(read("dilations", dil, 1));
  SEER_RETURN_IF_ERROR(read("pads", pads, 2));
  if (kind == PoolParams::Kind::kAverage && (dil[0] != 1 || dil[1] != 1)) return c.unsupported("AveragePool dilations");
  const std::string auto_pad = node.attr_string("auto_pad", "NOTSET");
  const bool ceil_mode = node.attr_int("ceil_mode", 0) != 0;
  for (int d = 0; d < 2; ++d) {
    const int64_t ek = (k[d] - 1) * dil[d] + 1;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      const int64_t out = (in[d] + st[d] - 1) / st[d];
      const int64_t total = std::max<int64_t>(0, (out - 1) * st[d] + ek - in[d]);
      pads[d] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      pads[2 + d] = total - pads[d];
    } else if (auto_pad == "VALID") {
      pads[d] = pads[2 + d] = 0;
    } else if (auto_pad != "NOTSET") {
      return c.error("auto_pad '{}'", auto_pad);
    }
  }
  PoolParams p;
  p.kind = kind;
  p.n = x[0];
  p.c = x[1];
  p.h = in[0];
  p.w = in[1];
  p.kh = k[0];
  p.kw = k[1];
  p.stride_h = st[0];
  p.stride_w = st[1];
  p.dilation_h = dil[0];
  p.dilation_w = dil[1];
  p.pad_top = pads[0];
  p.pad_left = pads[1];
  p.pad_bottom = pads[2];
  p.pad_right = pads[3];
  p.ceil_mode = ceil_mode;
  p.count_include_pad = node.attr_int("count_include_pad", 0) != 0;
  p.indices_column_major = node.attr_int("storage_order", 0) != 0;
  return p;
}

class PoolKernel final : public OpKernel {
 public:
  explicit PoolKernel(Pool pool) : pool_(pool) {}
  Status run(RunContext& ctx) const override {
    int64_t* indices = ctx.num_outputs() > 1 && ctx.output(1).ptr ? ctx.output(1).data<int64_t>() : nullptr;
    pool_.run(ctx.input(0).data<float>(), ctx.output(0).data<float>(), indices);
    return Status();
  }

 private:
  Pool pool_;
};

OpDef make_def(const char* name, PoolParams::Kind kind, std::vector<std::string> attrs) {
  return {.name = name,
          .domain = "",
          .min_opset = 1,
          .attributes = std::move(attrs),
          .infer = [kind](InferContext& c) -> Status {
            SEER_ASSIGN_OR_RETURN(PoolParams p, read_params(c, kind));
            SEER_ASSIGN_OR_RETURN(Pool pool, Pool::create(p));
            auto od = pool.output_dims();
            Shape out{od[0], od[1]};
            if (c.input_shape(0).rank() == 4) out.push_back(od[2]);
            out.push_back(od[3]);
            c.set_output(0, DataType::kFloat32, out);
            if (kind == PoolParams::Kind::kMax && c.has_output(1)) c.set_output(1, DataType::kInt64, out);
            return Status();
          },
          .create = [kind](PrepareContext& c) -> StatusOr<std::unique_ptr<OpKernel>> {
            SEER_ASSIGN_OR_RETURN(PoolParams p, read_params(c, kind));
            SEER_ASSIGN_OR_RETURN(Pool pool, Pool::create(p));
            return std::unique_ptr<OpKernel>(new PoolKernel(pool));
          }};
}

}  // namespace

SEER_REGISTER_OPS(pool) {
  registry.add(make_def("MaxPool", PoolParams::Kind::kMax,
                        {"auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order", "strides"}));
  registry.add(make_def("AveragePool", PoolParams::Kind::kAverage,
                        {"auto_pad", "ceil_mode", "count_include_pad", "dilations", "kernel_shape", "pads", "strides"}));
}

}  // namespace seer::engine
