// Conv and ConvTranspose (ai.onnx), 1-D and 2-D, on the oneDNN kernel (engine/kernels/conv.h).
// Constant weights are packed once per model; dynamic weights (ONNX node tests) are packed into
// scratch on every run. auto_pad SAME_UPPER / SAME_LOWER / VALID resolve to explicit pads here.
#include "engine/kernels/conv.h"
#include "engine/op.h"

namespace seer::engine {
namespace {

using kernels::Conv;
using kernels::ConvParams;

struct Spatial {  // per spatial dim (h, w)
  int64_t in[2] = {1, 1}, k[2] = {1, 1}, stride[2] = {1, 1}, dil[2] = {1, 1};
  int64_t pad_begin[2] = {0, 0}, pad_end[2] = {0, 0}, out_pad[2] = {0, 0};
};

// Reads the attributes shared by Conv and ConvTranspose and resolves the pads.
StatusOr<ConvParams> read_params(const NodeContext& c, bool transposed) {
  const Node& node = c.node();
  const Shape& x = c.input_shape(0);
  const Shape& w = c.input_shape(1);
  if (x.rank() != 3 && x.rank() != 4) return c.unsupported("{}-D input (only 1-D and 2-D convolution)", x.rank() - 2);
  if (w.rank() != x.rank()) return c.error("weights rank {} for input rank {}", w.rank(), x.rank());
  const int nsp = x.rank() - 2;
  const int off = 2 - nsp;  // 1-D maps to w with h = 1
  Spatial s;
  for (int i = 0; i < nsp; ++i) {
    s.in[off + i] = x[2 + i];
    s.k[off + i] = w[2 + i];
  }
  auto read = [&](const char* name, int64_t* dst, int count_per_dim, int64_t fallback) -> Status {
    auto v = node.attr_ints(name);
    if (v.empty()) return Status();
    if (static_cast<int>(v.size()) != nsp * count_per_dim) return c.error("{} has {} values", name, v.size());
    for (int r = 0; r < count_per_dim; ++r)
      for (int i = 0; i < nsp; ++i) dst[r * 2 + off + i] = v[r * nsp + i];
    return Status();
  };
  int64_t ks[2] = {s.k[0], s.k[1]};
  SEER_RETURN_IF_ERROR(read("kernel_shape", ks, 1, 1));
  if (ks[0] != s.k[0] || ks[1] != s.k[1]) return c.error("kernel_shape disagrees with the weights");
  SEER_RETURN_IF_ERROR(read("strides", s.stride, 1, 1));
  SEER_RETURN_IF_ERROR(read("dilations", s.dil, 1, 1));
  int64_t pads[4] = {0, 0, 0, 0};
  SEER_RETURN_IF_ERROR(read("pads", pads, 2, 0));
  const std::string auto_pad = node.attr_string("auto_pad", "NOTSET");
  const int64_t group = node.attr_int("group", 1);
  ConvParams p;
  p.transposed = transposed;
  p.n = x[0];
  p.c_in = x[1];
  p.groups = group;
  p.c_out = transposed ? w[1] * group : w[0];
  if (transposed) SEER_RETURN_IF_ERROR(read("output_padding", s.out_pad, 1, 0));
  std::vector<int64_t> output_shape = transposed ? node.attr_ints("output_shape") : std::vector<int64_t>{};
  if (!output_shape.empty() && static_cast<int>(output_shape.size()) != nsp) {
    if (static_cast<int>(output_shape.size()) == nsp + 2) output_shape.erase(output_shape.begin(), output_shape.begin() + 2);
    else return c.error("output_shape has {} values", output_shape.size());
  }
  for (int d = 0; d < 2; ++d) {
    const int64_t ek = (s.k[d] - 1) * s.dil[d] + 1;
    int64_t begin = pads[d], end = pads[2 + d];
    const int i = d - off;  // index into output_shape
    if (!transposed) {
      if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
        const int64_t out = (s.in[d] + s.stride[d] - 1) / s.stride[d];
        const int64_t total = std::max<int64_t>(0, (out - 1) * s.stride[d] + ek - s.in[d]);
        begin = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
        end = total - begin;
      } else if (auto_pad == "VALID") {
        begin = end = 0;
      } else if (auto_pad != "NOTSET") {
        return c.error("auto_pad '{}'", auto_pad);
      }
    } else {
      int64_t target = -1;
      if (!output_shape.empty() && i >= 0) target = output_shape[i];
      else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") target = s.in[d] * s.stride[d];
      if (target >= 0 && (i >= 0 || off == 0)) {
        const int64_t total = s.stride[d] * (s.in[d] - 1) + s.out_pad[d] + ek - target;
        // ONNX ConvTranspose: SAME_UPPER puts the odd padding at the end.
        begin = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
        end = total - begin;
        // A larger output than the input reaches (negative total) grows at the end, as in
        // ONNX Runtime: those rows get only the bias.
        if (total < 0) begin = 0, end = total;
      } else if (auto_pad == "VALID") {
        begin = end = 0;
      }
    }
    if (d == 0) {
      p.kh = s.k[0]; p.stride_h = s.stride[0]; p.dilation_h = s.dil[0];
      p.pad_top = begin; p.pad_bottom = end; p.output_pad_h = s.out_pad[0]; p.h = s.in[0];
    } else {
      p.kw = s.k[1]; p.stride_w = s.stride[1]; p.dilation_w = s.dil[1];
      p.pad_left = begin; p.pad_right = end; p.output_pad_w = s.out_pad[1]; p.w = s.in[1];
    }
  }
  if (!transposed && w[1] * group != p.c_in)
    return c.error("weights {} for {} input channels in {} groups", w.to_string(), p.c_in, group);
  if (transposed && w[0] != p.c_in) return c.error("weights {} for {} input channels", w.to_string(), p.c_in);
  p.has_bias = c.has_input(2);
  return p;
}

Shape output_shape(const NodeContext& c, const std::vector<int64_t>& dims) {
  Shape out{dims[0], dims[1]};
  if (c.input_shape(0).rank() == 4) out.push_back(dims[2]);
  out.push_back(dims[3]);
  return out;
}

class ConvKernel final : public OpKernel {
 public:
  ConvKernel(Conv conv, const void* packed) : conv_(std::move(conv)), packed_(packed) {}
  Status run(RunContext& ctx) const override {
    uint8_t* scratch = static_cast<uint8_t*>(ctx.scratch());
    const void* w = packed_;
    if (!w) {  // dynamic weights: pack them into the tail of the scratch
      void* dst = scratch + kernels::align64(conv_.scratch_bytes());
      SEER_RETURN_IF_ERROR(conv_.pack_weights(ctx.input(1).data<float>(), dst));
      w = dst;
    }
    Conv::Args a;
    a.src = ctx.input(0).data<float>();
    a.weights = w;
    a.bias = ctx.has_input(2) ? ctx.input(2).data<float>() : nullptr;
    a.dst = ctx.output(0).data<float>();
    a.scratch = scratch;
    return conv_.run(a);
  }

 private:
  Conv conv_;
  const void* packed_;
};

Status infer(InferContext& c, bool transposed) {
  for (int i = 0; i < 3; ++i)
    if (c.has_input(i) && c.input_dtype(i) != DataType::kFloat32)
      return c.unsupported("input {} has dtype {} (only float32)", i, to_string(c.input_dtype(i)));
  SEER_ASSIGN_OR_RETURN(ConvParams p, read_params(c, transposed));
  // Output size without building the primitive (infer runs once per batch size, cheaply).
  int64_t oh, ow;
  if (!transposed) {
    oh = kernels::conv_output_size(p.h, p.kh, p.stride_h, p.dilation_h, p.pad_top, p.pad_bottom);
    ow = kernels::conv_output_size(p.w, p.kw, p.stride_w, p.dilation_w, p.pad_left, p.pad_right);
  } else {
    oh = p.stride_h * (p.h - 1) + p.output_pad_h + (p.kh - 1) * p.dilation_h + 1 - p.pad_top - p.pad_bottom;
    ow = p.stride_w * (p.w - 1) + p.output_pad_w + (p.kw - 1) * p.dilation_w + 1 - p.pad_left - p.pad_right;
  }
  if (oh <= 0 || ow <= 0) return c.error("empty output");
  c.set_output(0, DataType::kFloat32, output_shape(c, {p.n, p.c_out, oh, ow}));
  return Status();
}

StatusOr<std::unique_ptr<OpKernel>> create(PrepareContext& c, bool transposed) {
  SEER_ASSIGN_OR_RETURN(ConvParams p, read_params(c, transposed));
  p.precision = c.precision();
  // Depthwise convolutions stay fp32 in a bf16 model: they are memory-bound (kh·kw products per
  // output), so bf16 buys little, and their bf16 rounding is what moves MobileNetV2's probabilities
  // (nsfwjs MobileNetV2: up to 0.098 off the fp32 reference with bf16 depthwise, 0.020 without).
  if (!transposed && p.groups > 1 && p.groups == p.c_in) p.precision = Precision::kF32;
  auto conv = Conv::create(p);
  if (!conv.ok()) return conv.status().with_context(c.node().describe());
  const Conv& k = *conv;
  const void* packed = nullptr;
  if (const Tensor* w = c.constant_input(1)) {
    SEER_ASSIGN_OR_RETURN(packed, c.packed_weight("W:" + k.packed_layout_key(), k.packed_weights_bytes(),
                                                  [&](void* dst) { return k.pack_weights(w->data<float>(), dst); }, 1));
    c.request_scratch(k.scratch_bytes());
  } else {
    c.request_scratch(kernels::align64(k.scratch_bytes()) + k.packed_weights_bytes());
  }
  return std::unique_ptr<OpKernel>(new ConvKernel(std::move(conv).value(), packed));
}

}  // namespace

SEER_REGISTER_OPS(conv) {
  registry.add({.name = "Conv",
                .domain = "",
                .min_opset = 1,
                .attributes = {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"},
                .infer = [](InferContext& c) { return infer(c, false); },
                .create = [](PrepareContext& c) { return create(c, false); }});
  registry.add({.name = "ConvTranspose",
                .domain = "",
                .min_opset = 1,
                .attributes = {"auto_pad", "dilations", "group", "kernel_shape", "output_padding",
                               "output_shape", "pads", "strides"},
                .infer = [](InferContext& c) { return infer(c, true); },
                .create = [](PrepareContext& c) { return create(c, true); }});
}

}  // namespace seer::engine
