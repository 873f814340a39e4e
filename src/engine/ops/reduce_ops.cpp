// ReduceMean/Sum/Max/Min/Prod/L2/L1/SumSquare/LogSumExp and GlobalAveragePool. Axes come from the
// attribute (ReduceSum before 13, the others before 18) or from input 1 afterwards
// (noop_with_empty_axes). Sum/Mean add each contiguous run in the input type and the runs in
// double; the other reductions accumulate in double.
#include <cmath>
#include <limits>

#include "engine/ops/op_util.h"

namespace seer::engine {
namespace {

enum class Red { kMean, kSum, kMax, kMin, kProd, kL2, kL1, kSumSquare, kLogSumExp, kLogSum };

struct ReducePlan {
  // The input viewed as [outer, reduce, inner] after sorting out the axes: reduced axes are
  // handled generally with an odometer over the reduced dims.
  Shape in, out_kept;   // out_kept: the input shape with reduced dims set to 1
  bool reduce[kMaxRank] = {};
  bool noop = false;
};

Status reduce_plan(const NodeContext& c, int axes_input_since, ReducePlan* p, Shape* out) {
  const Shape& in = c.input_shape(0);
  std::vector<int64_t> axes;
  if (c.opset() >= axes_input_since) {
    if (c.has_input(1)) SEER_RETURN_IF_ERROR(ops::read_ints(c, 1, &axes));
  } else {
    axes = c.node().attr_ints("axes");
  }
  const bool keepdims = c.node().attr_int("keepdims", 1) != 0;
  p->in = in;
  if (axes.empty()) {
    if (c.node().attr_int("noop_with_empty_axes", 0)) p->noop = true;
    else for (int i = 0; i < in.rank(); ++i) p->reduce[i] = true;
  }
  for (int64_t a : axes) {
    SEER_ASSIGN_OR_RETURN(int ax, ops::normalize_axis(c, a, in.rank()));
    p->reduce[ax] = true;
  }
  *out = Shape();
  p->out_kept = in;
  for (int i = 0; i < in.rank(); ++i) {
    if (p->reduce[i]) {
      p->out_kept[i] = 1;
      if (keepdims) out->push_back(1);
    } else {
      out->push_back(in[i]);
    }
  }
  if (p->noop) *out = in;
  return Status();
}

template <Red kOp, typename T>
void reduce_run(const ReducePlan& p, const T* x, T* y) {
  const Shape& in = p.in;
  const int r = in.rank();
  const int64_t out_n = p.out_kept.numel();
  int64_t st[kMaxRank];
  ops::strides_of(in, st);
  // Reduced dims and their strides, and the count.
  int64_t rdims[kMaxRank], rst[kMaxRank];
  int nr = 0;
  int64_t count = 1;
  for (int i = 0; i < r; ++i)
    if (p.reduce[i]) {
      rdims[nr] = in[i];
      rst[nr++] = st[i];
      count *= in[i];
    }
#pragma omp parallel for schedule(static) if (out_n * count > (1 << 16) && out_n > 1)
  for (int64_t o = 0; o < out_n; ++o) {
    // Base offset of this output element in the input.
    int64_t rem = o, base = 0;
    for (int i = r - 1; i >= 0; --i) {
      const int64_t d = p.out_kept[i];
      base += (rem % d) * st[i];
      rem /= d;
    }
    double acc;
    if constexpr (kOp == Red::kMax) acc = -std::numeric_limits<double>::infinity();
    else if constexpr (kOp == Red::kMin) acc = std::numeric_limits<double>::infinity();
    else if constexpr (kOp == Red::kProd) acc = 1;
    else acc = 0;
    double mx = 0;
    if constexpr (kOp == Red::kLogSumExp) {
      mx = -std::numeric_limits<double>::infinity();
      for (int64_t k = 0; k < count; ++k) {
        int64_t rr = k, off = base;
        for (int j = nr - 1; j >= 0; --j) { off += (rr % rdims[j]) * rst[j]; rr /= rdims[j]; }
        mx = std::max(mx, static_cast<double>(x[off]));
      }
    }
    const bool contiguous = nr >= 1 && rst[nr - 1] == 1;
    const int64_t run = contiguous ? rdims[nr - 1] : 1;
    for (int64_t k = 0; k < count; k += run) {
      int64_t rr = k, off = base;
      for (int j = nr - 1; j >= 0; --j) { off += (rr % rdims[j]) * rst[j]; rr /= rdims[j]; }
      const T* px = x + off;
      if constexpr (kOp == Red::kSum || kOp == Red::kMean) {
        T s = 0;  // fp32 accumulation per run, like ORT
        for (int64_t i = 0; i < run; ++i) s += px[i];
        acc += s;
      } else {
        for (int64_t i = 0; i < run; ++i) {
          const double v = static_cast<double>(px[i]);
          if constexpr (kOp == Red::kMax) acc = (v > acc || std::isnan(v)) ? v : acc;
          else if constexpr (kOp == Red::kMin) acc = (v < acc || std::isnan(v)) ? v : acc;
          else if constexpr (kOp == Red::kProd) acc *= v;
          else if constexpr (kOp == Red::kL2 || kOp == Red::kSumSquare) acc += v * v;
          else if constexpr (kOp == Red::kL1) acc += std::abs(v);
          else if constexpr (kOp == Red::kLogSumExp) acc += std::exp(v - mx);
          else acc += v;  // kLogSum
        }
      }
    }
    if constexpr (kOp == Red::kMean) acc = count ? acc / static_cast<double>(count) : acc;
    if constexpr (kOp == Red::kL2) acc = std::sqrt(acc);
    if constexpr (kOp == Red::kLogSumExp) acc = std::log(acc) + mx;
    if constexpr (kOp == Red::kLogSum) acc = std::log(acc);
    y[o] = static_cast<T>(acc);
  }
}

template <Red kOp>
void add_reduce(OpRegistry& registry, const char* name, int axes_input_since) {
  registry.add({.name = name, .domain = "", .min_opset = 1,
                .attributes = {"axes", "keepdims", "noop_with_empty_axes"},
                .infer = [axes_input_since](InferContext& c) -> Status {
                  const DataType t = c.input_dtype(0);
                  if (!(t == DataType::kFloat32 || t == DataType::kFloat64 || t == DataType::kInt64 || t == DataType::kInt32))
                    return c.unsupported("input type {}", to_string(t));
                  ReducePlan p;
                  Shape out;
                  SEER_RETURN_IF_ERROR(reduce_plan(c, axes_input_since, &p, &out));
                  c.set_output(0, t, out);
                  return Status();
                },
                .create = [axes_input_since](PrepareContext& c) -> StatusOr<std::unique_ptr<OpKernel>> {
                  ReducePlan p;
                  Shape out;
                  SEER_RETURN_IF_ERROR(reduce_plan(c, axes_input_since, &p, &out));
                  return ops::make_kernel([p](RunContext& ctx) -> Status {
                    if (p.noop) {
                      ops::copy_bytes(ctx.output(0).ptr, ctx.input(0).ptr, ctx.output(0).bytes());
                      return Status();
                    }
                    bool ok = ops::dispatch_numeric(ctx.input(0).dtype, [&](auto tag) {
                      using T = decltype(tag);
                      reduce_run<kOp, T>(p, ctx.input(0).data<T>(), ctx.output(0).data<T>());
                    });
                    return ok ? Status() : Status::internal("reduce type");
                  });
                }});
}

}  // namespace

SEER_REGISTER_OPS(reduce) {
  add_reduce<Red::kMean>(registry, "ReduceMean", 18);
  add_reduce<Red::kSum>(registry, "ReduceSum", 13);
  add_reduce<Red::kMax>(registry, "ReduceMax", 18);
  add_reduce<Red::kMin>(registry, "ReduceMin", 18);
  add_reduce<Red::kProd>(registry, "ReduceProd", 18);
  add_reduce<Red::kL2>(registry, "ReduceL2", 18);
  add_reduce<Red::kL1>(registry, "ReduceL1", 18);
  add_reduce<Red::kSumSquare>(registry, "ReduceSumSquare", 18);
  add_reduce<Red::kLogSumExp>(registry, "ReduceLogSumExp", 18);
  add_reduce<Red::kLogSum>(registry, "ReduceLogSum", 18);

  registry.add({.name = "GlobalAveragePool", .domain = "", .min_opset = 1, .attributes = {},
                .infer = [](InferContext& c) -> Status {
                  const Shape& in = c.input_shape(0);
                  if (c.input_dtype(0) != DataType::kFloat32 || in.rank() < 3) return c.unsupported("input {} {}", to_string(c.input_dtype(0)), in.to_string());
                  Shape out = in;
                  for (int i = 2; i < in.rank(); ++i) out[i] = 1;
                  c.set_output(0, DataType::kFloat32, out);
                  return Status();
                },
                .create = [](PrepareContext& c) -> StatusOr<std::unique_ptr<OpKernel>> {
                  const Shape in = c.input_shape(0);
                  const int64_t rows = in[0] * in[1], n = in.numel(2, in.rank());
                  return ops::make_kernel([rows, n](RunContext& ctx) {
                    const float* x = ctx.input(0).data<float>();
                    float* y = ctx.output(0).data<float>();
#pragma omp parallel for if (rows * n > (1 << 16))
                    for (int64_t r = 0; r < rows; ++r) {
                      float s = 0;
                      for (int64_t i = 0; i < n; ++i) s += x[r * n + i];
                      y[r] = s / static_cast<float>(n);
                    }
                    return Status();
                  });
                }});
}

}  // namespace seer::engine
