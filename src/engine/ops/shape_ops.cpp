// Shape and data-movement ops: Shape Size Reshape Flatten Squeeze Unsqueeze Identity Dropout
// Transpose Concat Split Slice Gather Expand Tile Range ConstantOfShape. They work on any dtype
// (elements are moved as opaque units), so int64 shape arithmetic runs through them too.
#include <algorithm>
#include <climits>
#include <cmath>
#include <numeric>

#include "engine/ops/broadcast.h"
#include "engine/ops/op_util.h"
#include "engine/ops/strided_copy.h"

namespace seer::engine {
namespace ops {

std::unique_ptr<OpKernel> make_copy_kernel() {
  return make_kernel([](RunContext& ctx) {
    if (ctx.output(0).ptr != ctx.input(0).ptr)
      copy_bytes(ctx.output(0).ptr, ctx.input(0).ptr, ctx.output(0).bytes());
    return Status();
  });
}

}  // namespace ops

namespace {
using namespace ops;

StatusOr<std::unique_ptr<OpKernel>> create_copy(PrepareContext&) { return make_copy_kernel(); }

Status check_rank(const NodeContext& c, size_t rank) {
  if (!Shape::fits(rank)) return c.unsupported("rank {} (seer supports up to {})", rank, kMaxRank);
  return Status();
}

// Axes from the attribute (before `input_since`) or from input `input` (optional).
Status axes_of(const NodeContext& c, int input, int input_since, std::vector<int64_t>* axes,
               bool* given) {
  *given = false;
  if (c.opset() < input_since) {
    *given = c.node().has_attr("axes");
    *axes = c.node().attr_ints("axes");
    return Status();
  }
  if (!c.has_input(input)) return Status();
  *given = true;
  return read_ints(c, input, axes);
}

// ---------------------------------------------------------------- Reshape family
Status infer_reshape(InferContext& c) {
  std::vector<int64_t> target;
  SEER_RETURN_IF_ERROR(read_ints(c, 1, &target));
  SEER_RETURN_IF_ERROR(check_rank(c, target.size()));
  const Shape& in = c.input_shape(0);
  const bool allowzero = c.node().attr_int("allowzero", 0) != 0;
  Shape out;
  int infer_at = -1;
  int64_t known = 1;
  for (size_t i = 0; i < target.size(); ++i) {
    int64_t d = target[i];
    if (d == 0 && !allowzero) {
      if (static_cast<int>(i) >= in.rank()) return c.error("0 in shape at {} beyond input rank", i);
      d = in[static_cast<int>(i)];
    }
    if (d == -1) {
      if (infer_at >= 0) return c.error("two -1 in the target shape");
      infer_at = static_cast<int>(i);
      d = 1;
    } else if (d < 0) {
      return c.error("bad target dim {}", d);
    }
    out.push_back(d);
    known *= d;
  }
  if (infer_at >= 0) {
    if (known == 0 || in.numel() % known) return c.error("cannot infer -1 reshaping {}", in.to_string());
    out[infer_at] = in.numel() / known;
  }
  if (out.numel() != in.numel())
    return c.error("reshape {} to {}: element counts differ", in.to_string(), out.to_string());
  c.set_output(0, c.input_dtype(0), out);
  return Status();
}

Status infer_flatten(InferContext& c) {
  const Shape& in = c.input_shape(0);
  int64_t axis = c.node().attr_int("axis", 1);
  if (axis < 0) axis += in.rank();
  if (axis < 0 || axis > in.rank()) return c.error("axis out of range");
  c.set_output(0, c.input_dtype(0), Shape{in.numel(0, static_cast<int>(axis)), in.numel(static_cast<int>(axis), in.rank())});
  return Status();
}

Status infer_squeeze(InferContext& c) {
  std::vector<int64_t> axes;
  bool given;
  SEER_RETURN_IF_ERROR(axes_of(c, 1, 13, &axes, &given));
  const Shape& in = c.input_shape(0);
  std::vector<bool> drop(in.rank(), false);
  if (!given || axes.empty()) {
    for (int i = 0; i < in.rank(); ++i) drop[i] = in[i] == 1;
  } else {
    for (int64_t a : axes) {
      SEER_ASSIGN_OR_RETURN(int ax, normalize_axis(c, a, in.rank()));
      if (in[ax] != 1) return c.error("cannot squeeze dim {} of size {}", ax, in[ax]);
      drop[ax] = true;
    }
  }
  Shape out;
  for (int i = 0; i < in.rank(); ++i)
    if (!drop[i]) out.push_back(in[i]);
  c.set_output(0, c.input_dtype(0), out);
  return Status();
}

Status infer_unsqueeze(InferContext& c) {
  std::vector<int64_t> axes;
  bool given;
  SEER_RETURN_IF_ERROR(axes_of(c, 1, 13, &axes, &given));
  const Shape& in = c.input_shape(0);
  const int r = in.rank() + static_cast<int>(axes.size());
  SEER_RETURN_IF_ERROR(check_rank(c, r));
  std::vector<bool> add(r, false);
  for (int64_t a : axes) {
    SEER_ASSIGN_OR_RETURN(int ax, normalize_axis(c, a, r));
    if (add[ax]) return c.error("repeated axis {}", ax);
    add[ax] = true;
  }
  Shape out;
  int j = 0;
  for (int i = 0; i < r; ++i) out.push_back(add[i] ? 1 : in[j++]);
  c.set_output(0, c.input_dtype(0), out);
  return Status();
}

Status infer_same(InferContext& c) {
  c.set_output(0, c.input_dtype(0), c.input_shape(0));
  return Status();
}

Status infer_dropout(InferContext& c) {
  if (c.opset() >= 12 && c.has_input(2)) {
    const Tensor* t = c.constant_input(2);
    if (!t || read_scalar(*t) != 0) return c.unsupported("training_mode must be a constant false");
  }
  c.set_output(0, c.input_dtype(0), c.input_shape(0));
  if (c.has_output(1)) c.set_output(1, DataType::kBool, c.input_shape(0));
  return Status();
}

StatusOr<std::unique_ptr<OpKernel>> create_dropout(PrepareContext&) {
  return make_kernel([](RunContext& ctx) {
    copy_bytes(ctx.output(0).ptr, ctx.input(0).ptr, ctx.output(0).bytes());
    if (ctx.num_outputs() > 1 && ctx.output(1).ptr) std::memset(ctx.output(1).ptr, 1, ctx.output(1).bytes());
    return Status();
  });
}

// ---------------------------------------------------------------- Shape, Size
Status infer_shape(InferContext& c) {
  const int r = c.input_shape(0).rank();
  int64_t start = c.node().attr_int("start", 0), end = c.node().attr_int("end", r);
  if (start < 0) start += r;
  if (end < 0) end += r;
  start = std::clamp<int64_t>(start, 0, r);
  end = std::clamp<int64_t>(end, 0, r);
  c.set_output(0, DataType::kInt64, Shape{std::max<int64_t>(0, end - start)});
  return Status();
}

StatusOr<std::unique_ptr<OpKernel>> create_shape(PrepareContext& c) {
  const Shape in = c.input_shape(0);
  int64_t start = c.node().attr_int("start", 0);
  if (start < 0) start += in.rank();
  start = std::clamp<int64_t>(start, 0, in.rank());
  return make_kernel([in, start](RunContext& ctx) {
    int64_t* o = ctx.output(0).data<int64_t>();
    for (int64_t i = 0; i < ctx.output(0).numel(); ++i) o[i] = in[static_cast<int>(start + i)];
    return Status();
  });
}

// ---------------------------------------------------------------- Transpose
Status infer_transpose(InferContext& c) {
  const Shape& in = c.input_shape(0);
  std::vector<int64_t> perm = c.node().attr_ints("perm");
  if (perm.empty())
    for (int i = in.rank() - 1; i >= 0; --i) perm.push_back(i);
  if (static_cast<int>(perm.size()) != in.rank()) return c.error("perm size != rank");
  Shape out;
  for (int64_t p : perm) {
    if (p < 0 || p >= in.rank()) return c.error("bad perm");
    out.push_back(in[static_cast<int>(p)]);
  }
  c.set_output(0, c.input_dtype(0), out);
  return Status();
}

StatusOr<std::unique_ptr<OpKernel>> create_transpose(PrepareContext& c) {
  const Shape& in = c.input_shape(0);
  std::vector<int64_t> perm = c.node().attr_ints("perm");
  if (perm.empty())
    for (int i = in.rank() - 1; i >= 0; --i) perm.push_back(i);
  int64_t st[kMaxRank];
  strides_of(in, st);
  StridedCopy sc;
  sc.out = c.output_shape(0);
  for (int i = 0; i < in.rank(); ++i) sc.in_strides[i] = st[perm[i]];
  const size_t es = dtype_size(c.input_dtype(0));
  return make_kernel([sc, es](RunContext& ctx) {
    sc.run(ctx.input(0).ptr, ctx.output(0).ptr, es);
    return Status();
  });
}

// ---------------------------------------------------------------- Concat, Split
Status infer_concat(InferContext& c) {
  const Shape& s0 = c.input_shape(0);
  SEER_ASSIGN_OR_RETURN(int axis, normalize_axis(c, c.node().attr_int("axis", 0), s0.rank()));
  Shape out = s0;
  out[axis] = 0;
  for (int i = 0; i < c.num_inputs(); ++i) {
    const Shape& s = c.input_shape(i);
    if (s.rank() != s0.rank() || c.input_dtype(i) != c.input_dtype(0)) return c.error("input {} differs", i);
    for (int d = 0; d < s.rank(); ++d)
      if (d != axis && s[d] != s0[d]) return c.error("input {} shape {} vs {}", i, s.to_string(), s0.to_string());
    out[axis] += s[axis];
  }
  c.set_output(0, c.input_dtype(0), out);
  return Status();
}

StatusOr<std::unique_ptr<OpKernel>> create_concat(PrepareContext& c) {
  const Shape out = c.output_shape(0);
  SEER_ASSIGN_OR_RETURN(int axis, normalize_axis(c, c.node().attr_int("axis", 0), out.rank()));
  const size_t es = dtype_size(c.input_dtype(0));
  const int64_t outer = out.numel(0, axis);
  const size_t inner_bytes = static_cast<size_t>(out.numel(axis + 1, out.rank())) * es;
  return make_kernel([outer, inner_bytes, axis](RunContext& ctx) {
    uint8_t* o = static_cast<uint8_t*>(ctx.output(0).ptr);
    const size_t out_row = ctx.output(0).shape[axis] * inner_bytes;
    size_t col = 0;
    for (int i = 0; i < ctx.num_inputs(); ++i) {
      const size_t row = ctx.input(i).shape[axis] * inner_bytes;
      const uint8_t* in = static_cast<const uint8_t*>(ctx.input(i).ptr);
#pragma omp parallel for if (outer * row > (1 << 18))
      for (int64_t r = 0; r < outer; ++r) copy_bytes(o + r * out_row + col, in + r * row, row);
      col += row;
    }
    return Status();
  });
}

Status split_sizes(const NodeContext& c, std::vector<int64_t>* sizes, int* axis_out) {
  const Shape& in = c.input_shape(0);
  SEER_ASSIGN_OR_RETURN(int axis, normalize_axis(c, c.node().attr_int("axis", 0), in.rank()));
  *axis_out = axis;
  const int n = c.num_outputs();
  if (c.opset() < 13 && c.node().has_attr("split")) {
    *sizes = c.node().attr_ints("split");
  } else if (c.opset() >= 13 && c.has_input(1)) {
    SEER_RETURN_IF_ERROR(read_ints(c, 1, sizes));
  } else {
    const int64_t parts = c.node().has_attr("num_outputs") ? c.node().attr_int("num_outputs", n) : n;
    const int64_t each = (in[axis] + parts - 1) / parts;  // the last part may be smaller (opset 18)
    sizes->clear();
    for (int64_t i = 0, left = in[axis]; i < parts; ++i, left -= each) sizes->push_back(std::min(each, left));
  }
  if (static_cast<int>(sizes->size()) != n) return c.error("{} split sizes for {} outputs", sizes->size(), n);
  if (std::accumulate(sizes->begin(), sizes->end(), int64_t{0}) != in[axis]) return c.error("split sizes do not sum to the dim");
  return Status();
}

Status infer_split(InferContext& c) {
  std::vector<int64_t> sizes;
  int axis;
  SEER_RETURN_IF_ERROR(split_sizes(c, &sizes, &axis));
  for (int i = 0; i < c.num_outputs(); ++i) {
    Shape s = c.input_shape(0);
    s[axis] = sizes[i];
    if (c.has_output(i)) c.set_output(i, c.input_dtype(0), s);
  }
  return Status();
}

StatusOr<std::unique_ptr<OpKernel>> create_split(PrepareContext& c) {
  std::vector<int64_t> sizes;
  int axis;
  SEER_RETURN_IF_ERROR(split_sizes(c, &sizes, &axis));
  const Shape in = c.input_shape(0);
  const size_t es = dtype_size(c.input_dtype(0));
  const int64_t outer = in.numel(0, axis);
  const size_t inner = static_cast<size_t>(in.numel(axis + 1, in.rank())) * es;
  return make_kernel([=](RunContext& ctx) {
    const uint8_t* src = static_cast<const uint8_t*>(ctx.input(0).ptr);
    const size_t in_row = in[axis] * inner;
    size_t col = 0;
    for (int i = 0; i < ctx.num_outputs(); ++i) {
      const size_t row = sizes[i] * inner;
      if (uint8_t* o = static_cast<uint8_t*>(ctx.output(i).ptr))
        for (int64_t r = 0; r < outer; ++r) copy_bytes(o + r * row, src + r * in_row + col, row);
      col += row;
    }
    return Status();
  });
}

// ---------------------------------------------------------------- Slice
struct SliceSpec {
  StridedCopy sc;
};

Status slice_plan(const NodeContext& c, Shape* out_shape, StridedCopy* sc) {
  const Shape& in = c.input_shape(0);
  std::vector<int64_t> starts, ends, axes, steps;
  if (c.opset() < 10) {
    starts = c.node().attr_ints("starts");
    ends = c.node().attr_ints("ends");
    axes = c.node().attr_ints("axes");
  } else {
    SEER_RETURN_IF_ERROR(read_ints(c, 1, &starts));
    SEER_RETURN_IF_ERROR(read_ints(c, 2, &ends));
    if (c.has_input(3)) SEER_RETURN_IF_ERROR(read_ints(c, 3, &axes));
    if (c.has_input(4)) SEER_RETURN_IF_ERROR(read_ints(c, 4, &steps));
  }
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    return c.error("starts/ends/axes/steps sizes differ");
  int64_t st[kMaxRank];
  strides_of(in, st);
  Shape out = in;
  sc->in_offset = 0;
  for (int d = 0; d < in.rank(); ++d) sc->in_strides[d] = st[d];
  for (size_t i = 0; i < starts.size(); ++i) {
    SEER_ASSIGN_OR_RETURN(int ax, normalize_axis(c, axes[i], in.rank()));
    const int64_t dim = in[ax], step = steps[i];
    if (step == 0) return c.error("step 0");
    int64_t s = starts[i], e = ends[i];
    if (s < 0) s += dim;
    if (e < 0 && e > INT64_MIN / 2) e += dim;
    int64_t len;
    if (step > 0) {
      s = std::clamp<int64_t>(s, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
      len = e > s ? (e - s + step - 1) / step : 0;
    } else {
      s = std::clamp<int64_t>(s, 0, dim - 1);
      e = std::clamp<int64_t>(e, -1, dim - 1);
      len = s > e ? (s - e + (-step) - 1) / (-step) : 0;
    }
    out[ax] = len;
    sc->in_offset += s * st[ax];
    sc->in_strides[ax] = st[ax] * step;
  }
  sc->out = out;
  *out_shape = out;
  return Status();
}

Status infer_slice(InferContext& c) {
  Shape out;
  StridedCopy sc;
  SEER_RETURN_IF_ERROR(slice_plan(c, &out, &sc));
  c.set_output(0, c.input_dtype(0), out);
  return Status();
}

StatusOr<std::unique_ptr<OpKernel>> create_slice(PrepareContext& c) {
  Shape out;
  StridedCopy sc;
  SEER_RETURN_IF_ERROR(slice_plan(c, &out, &sc));
  const size_t es = dtype_size(c.input_dtype(0));
  return make_kernel([sc, es](RunContext& ctx) {
    sc.run(ctx.input(0).ptr, ctx.output(0).ptr, es);
    return Status();
  });
}

// ---------------------------------------------------------------- Gather
Status infer_gather(InferContext& c) {
  const Shape& data = c.input_shape(0);
  const Shape& idx = c.input_shape(1);
  if (c.input_dtype(1) != DataType::kInt64 && c.input_dtype(1) != DataType::kInt32)
    return c.error("indices must be int32/int64");
  SEER_ASSIGN_OR_RETURN(int axis, normalize_axis(c, c.node().attr_int("axis", 0), data.rank()));
  SEER_RETURN_IF_ERROR(check_rank(c, data.rank() - 1 + idx.rank()));
  Shape out;
  for (int i = 0; i < axis; ++i) out.push_back(data[i]);
  for (int64_t d : idx) out.push_back(d);
  for (int i = axis + 1; i < data.rank(); ++i) out.push_back(data[i]);
  c.set_output(0, c.input_dtype(0), out);
  return Status();
}

StatusOr<std::unique_ptr<OpKernel>> create_gather(PrepareContext& c) {
  const Shape data = c.input_shape(0);
  SEER_ASSIGN_OR_RETURN(int axis, normalize_axis(c, c.node().attr_int("axis", 0), data.rank()));
  const size_t es = dtype_size(c.input_dtype(0));
  const int64_t outer = data.numel(0, axis), dim = data[axis];
  const size_t inner = static_cast<size_t>(data.numel(axis + 1, data.rank())) * es;
  const bool i64 = c.input_dtype(1) == DataType::kInt64;
  return make_kernel([=](RunContext& ctx) -> Status {
    const int64_t n = ctx.input(1).numel();
    const uint8_t* src = static_cast<const uint8_t*>(ctx.input(0).ptr);
    uint8_t* o = static_cast<uint8_t*>(ctx.output(0).ptr);
    for (int64_t j = 0; j < n; ++j) {
      int64_t k = i64 ? ctx.input(1).data<int64_t>()[j] : ctx.input(1).data<int32_t>()[j];
      if (k < 0) k += dim;
      if (k < 0 || k >= dim) return Status::invalid_argument("Gather index {} out of range {}", k, dim);
    }
#pragma omp parallel for if (outer * n * inner > (1 << 18))
    for (int64_t r = 0; r < outer; ++r)
      for (int64_t j = 0; j < n; ++j) {
        int64_t k = i64 ? ctx.input(1).data<int64_t>()[j] : ctx.input(1).data<int32_t>()[j];
        if (k < 0) k += dim;
        copy_bytes(o + (r * n + j) * inner, src + (r * dim + k) * inner, inner);
      }
    return Status();
  });
}

// ---------------------------------------------------------------- Expand, Tile
Status infer_expand(InferContext& c) {
  std::vector<int64_t> target;
  SEER_RETURN_IF_ERROR(read_ints(c, 1, &target));
  SEER_RETURN_IF_ERROR(check_rank(c, target.size()));
  SEER_ASSIGN_OR_RETURN(Shape out, broadcast_shapes(c, c.input_shape(0), Shape::from(target)));
  c.set_output(0, c.input_dtype(0), out);
  return Status();
}

StatusOr<std::unique_ptr<OpKernel>> create_expand(PrepareContext& c) {
  const Shape out = c.output_shape(0), in = c.input_shape(0);
  StridedCopy sc;
  sc.out = out;
  int64_t st[kMaxRank];
  strides_of(in, st);
  for (int i = 0; i < out.rank(); ++i) {
    const int j = i - (out.rank() - in.rank());
    sc.in_strides[i] = (j < 0 || in[j] == 1) ? 0 : st[j];
  }
  const size_t es = dtype_size(c.input_dtype(0));
  return make_kernel([sc, es](RunContext& ctx) {
    sc.run(ctx.input(0).ptr, ctx.output(0).ptr, es);
    return Status();
  });
}

Status infer_tile(InferContext& c) {
  std::vector<int64_t> reps;
  SEER_RETURN_IF_ERROR(read_ints(c, 1, &reps));
  Shape out = c.input_shape(0);
  if (static_cast<int>(reps.size()) != out.rank()) return c.error("repeats size != rank");
  for (int i = 0; i < out.rank(); ++i) out[i] *= reps[i];
  c.set_output(0, c.input_dtype(0), out);
  return Status();
}

StatusOr<std::unique_ptr<OpKernel>> create_tile(PrepareContext& c) {
  const Shape in = c.input_shape(0), out = c.output_shape(0);
  const size_t es = dtype_size(c.input_dtype(0));
  return make_kernel([in, out, es](RunContext& ctx) {
    // Per output element: input index = out index mod in dim (Tile is rare and small).
    const uint8_t* src = static_cast<const uint8_t*>(ctx.input(0).ptr);
    uint8_t* dst = static_cast<uint8_t*>(ctx.output(0).ptr);
    int64_t ist[kMaxRank];
    strides_of(in, ist);
    const int64_t total = out.numel();
    for (int64_t i = 0; i < total; ++i) {
      int64_t rem = i, off = 0;
      for (int d = out.rank() - 1; d >= 0; --d) {
        off += ((rem % out[d]) % in[d]) * ist[d];
        rem /= out[d];
      }
      std::memcpy(dst + i * es, src + off * es, es);
    }
    return Status();
  });
}

// ---------------------------------------------------------------- Range, ConstantOfShape
Status infer_range(InferContext& c) {
  for (int i = 0; i < 3; ++i)
    if (!c.constant_input(i)) return c.unsupported("Range needs constant start/limit/delta");
  const double start = read_scalar(*c.constant_input(0)), limit = read_scalar(*c.constant_input(1)),
               delta = read_scalar(*c.constant_input(2));
  if (delta == 0) return c.error("delta 0");
  const int64_t n = std::max<int64_t>(0, static_cast<int64_t>(std::ceil((limit - start) / delta)));
  c.set_output(0, c.input_dtype(0), Shape{n});
  return Status();
}

StatusOr<std::unique_ptr<OpKernel>> create_range(PrepareContext& c) {
  return make_kernel([](RunContext& ctx) {
    bool ok = dispatch_numeric(ctx.output(0).dtype, [&](auto tag) {
      using T = decltype(tag);
      const T start = *ctx.input(0).data<T>(), delta = *ctx.input(2).data<T>();
      T* o = ctx.output(0).data<T>();
      for (int64_t i = 0; i < ctx.output(0).numel(); ++i) o[i] = static_cast<T>(start + static_cast<T>(i) * delta);
    });
    return ok ? Status() : Status::internal("Range type");
  });
}

Status infer_constant_of_shape(InferContext& c) {
  std::vector<int64_t> dims;
  SEER_RETURN_IF_ERROR(read_ints(c, 0, &dims));
  SEER_RETURN_IF_ERROR(check_rank(c, dims.size()));
  const Attribute* v = c.node().find_attr("value");
  c.set_output(0, v ? v->t.dtype : DataType::kFloat32, Shape::from(dims));
  return Status();
}

StatusOr<std::unique_ptr<OpKernel>> create_constant_of_shape(PrepareContext& c) {
  uint64_t value = 0;  // the element's bytes (zero when no value attribute)
  const size_t es = dtype_size(c.output_dtype(0));
  if (const Attribute* v = c.node().find_attr("value")) std::memcpy(&value, v->t.ptr, es);
  return make_kernel([value, es](RunContext& ctx) {
    uint8_t* o = static_cast<uint8_t*>(ctx.output(0).ptr);
    const int64_t n = ctx.output(0).numel();
    for (int64_t i = 0; i < n; ++i) std::memcpy(o + i * es, &value, es);
    return Status();
  });
}

}  // namespace

SEER_REGISTER_OPS(shape_ops) {
  registry.add({.name = "Shape", .domain = "", .min_opset = 1, .attributes = {"start", "end"}, .infer = infer_shape, .create = create_shape, .shape_only = true});
  registry.add({.name = "Size", .domain = "", .min_opset = 1, .attributes = {},
                .infer = [](InferContext& c) { c.set_output(0, DataType::kInt64, Shape{}); return Status(); },
                .create = [](PrepareContext& c) -> StatusOr<std::unique_ptr<OpKernel>> {
                  const int64_t n = c.input_shape(0).numel();
                  return make_kernel([n](RunContext& ctx) { *ctx.output(0).data<int64_t>() = n; return Status(); });
                },
                .shape_only = true});
  registry.add({.name = "Reshape", .domain = "", .min_opset = 5, .attributes = {"allowzero"}, .infer = infer_reshape, .create = create_copy, .alias_input = true});
  registry.add({.name = "Flatten", .domain = "", .min_opset = 1, .attributes = {"axis"}, .infer = infer_flatten, .create = create_copy, .alias_input = true});
  registry.add({.name = "Squeeze", .domain = "", .min_opset = 1, .attributes = {"axes"}, .infer = infer_squeeze, .create = create_copy, .alias_input = true});
  registry.add({.name = "Unsqueeze", .domain = "", .min_opset = 1, .attributes = {"axes"}, .infer = infer_unsqueeze, .create = create_copy, .alias_input = true});
  registry.add({.name = "Identity", .domain = "", .min_opset = 1, .attributes = {}, .infer = infer_same, .create = create_copy, .alias_input = true});
  registry.add({.name = "Dropout", .domain = "", .min_opset = 7, .attributes = {"ratio", "seed"}, .infer = infer_dropout, .create = create_dropout});
  registry.add({.name = "Transpose", .domain = "", .min_opset = 1, .attributes = {"perm"}, .infer = infer_transpose, .create = create_transpose});
  registry.add({.name = "Concat", .domain = "", .min_opset = 4, .attributes = {"axis"}, .infer = infer_concat, .create = create_concat});
  registry.add({.name = "Split", .domain = "", .min_opset = 2, .attributes = {"axis", "split", "num_outputs"}, .infer = infer_split, .create = create_split});
  registry.add({.name = "Slice", .domain = "", .min_opset = 1, .attributes = {"starts", "ends", "axes"}, .infer = infer_slice, .create = create_slice});
  registry.add({.name = "Gather", .domain = "", .min_opset = 1, .attributes = {"axis"}, .infer = infer_gather, .create = create_gather});
  registry.add({.name = "Expand", .domain = "", .min_opset = 8, .attributes = {}, .infer = infer_expand, .create = create_expand});
  registry.add({.name = "Tile", .domain = "", .min_opset = 6, .attributes = {}, .infer = infer_tile, .create = create_tile});
  registry.add({.name = "Range", .domain = "", .min_opset = 11, .attributes = {}, .infer = infer_range, .create = create_range});
  registry.add({.name = "ConstantOfShape", .domain = "", .min_opset = 9, .attributes = {"value"}, .infer = infer_constant_of_shape, .create = create_constant_of_shape});
}

}  // namespace seer::engine
