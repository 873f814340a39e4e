// Pad (constant, reflect, edge, wrap; negative pads crop) and Resize (nearest, linear, cubic on
// any axes, every coordinate transformation mode except tf_crop_and_resize). Both map each output
// coordinate to input taps planned at load; run() only walks the tables.
#include <cmath>

#include "engine/ops/op_util.h"

namespace seer::engine {
namespace {
using namespace ops;

// ---------------------------------------------------------------- Pad
struct PadPlan {
  Shape in, out;
  int64_t begin[kMaxRank] = {};
  int mode = 0;  // 0 constant, 1 reflect, 2 edge, 3 wrap
};

Status pad_plan(const NodeContext& c, PadPlan* p) {
  p->in = c.input_shape(0);
  const int r = p->in.rank();
  std::vector<int64_t> pads, axes;
  if (c.opset() < 11) pads = c.node().attr_ints("pads");
  else SEER_RETURN_IF_ERROR(read_ints(c, 1, &pads));
  if (c.opset() >= 18 && c.has_input(3)) SEER_RETURN_IF_ERROR(read_ints(c, 3, &axes));
  if (axes.empty())
    for (int i = 0; i < r; ++i) axes.push_back(i);
  if (pads.size() != 2 * axes.size()) return c.error("{} pads for {} axes", pads.size(), axes.size());
  std::vector<int64_t> b(r, 0), e(r, 0);
  for (size_t i = 0; i < axes.size(); ++i) {
    SEER_ASSIGN_OR_RETURN(int ax, normalize_axis(c, axes[i], r));
    b[ax] = pads[i];
    e[ax] = pads[i + axes.size()];
  }
  p->out = p->in;
  for (int i = 0; i < r; ++i) {
    p->begin[i] = b[i];
    p->out[i] = p->in[i] + b[i] + e[i];
    if (p->out[i] < 0) return c.error("pads make dim {} negative", i);
  }
  const std::string mode = c.node().attr_string("mode", "constant");
  p->mode = mode == "constant" ? 0 : mode == "reflect" ? 1 : mode == "edge" ? 2 : mode == "wrap" ? 3 : -1;
  if (p->mode < 0) return c.unsupported("mode '{}'", mode);
  return Status();
}

// Input coordinate for output coordinate o along a dim, or -1 (constant fill).
inline int64_t pad_source(int64_t o, int64_t begin, int64_t n, int mode) {
  int64_t i = o - begin;
  if (i >= 0 && i < n) return i;
  if (mode == 0 || n == 0) return -1;
  if (mode == 2) return i < 0 ? 0 : n - 1;
  if (mode == 3) return ((i % n) + n) % n;
  if (n == 1) return 0;
  const int64_t period = 2 * (n - 1);
  i = ((i % period) + period) % period;
  return i < n ? i : period - i;
}

StatusOr<std::unique_ptr<OpKernel>> create_pad(PrepareContext& c) {
  PadPlan p;
  SEER_RETURN_IF_ERROR(pad_plan(c, &p));
  const size_t es = dtype_size(c.input_dtype(0));
  const bool attr_value = c.opset() < 11;
  const float value_attr = c.node().attr_float("value", 0.f);
  const DataType dt = c.input_dtype(0);
  return make_kernel([p, es, attr_value, value_attr, dt](RunContext& ctx) {
    uint64_t fill = 0;  // the constant's bytes
    if (attr_value) {
      if (dt == DataType::kFloat32) std::memcpy(&fill, &value_attr, 4);
      else if (dt == DataType::kFloat64) { double d = value_attr; std::memcpy(&fill, &d, 8); }
      else dispatch_numeric(dt, [&](auto tag) { auto v = static_cast<decltype(tag)>(value_attr); std::memcpy(&fill, &v, sizeof v); });
    } else if (ctx.has_input(2) && ctx.input(2).numel() > 0) {
      std::memcpy(&fill, ctx.input(2).ptr, es);
    }
    const int r = p.out.rank();
    int64_t ist[kMaxRank];
    strides_of(p.in, ist);
    const uint8_t* src = static_cast<const uint8_t*>(ctx.input(0).ptr);
    uint8_t* dst = static_cast<uint8_t*>(ctx.output(0).ptr);
    const int64_t total = p.out.numel();
    const int64_t inner = r ? p.out[r - 1] : 1, rows = inner ? total / inner : 0;
#pragma omp parallel for if (total > (1 << 16))
    for (int64_t row = 0; row < rows; ++row) {
      int64_t rem = row, off = 0;
      bool outside = false;
      for (int d = r - 2; d >= 0; --d) {
        const int64_t s = pad_source(rem % p.out[d], p.begin[d], p.in[d], p.mode);
        rem /= p.out[d];
        if (s < 0) outside = true;
        else off += s * ist[d];
      }
      uint8_t* o = dst + row * inner * es;
      for (int64_t i = 0; i < inner; ++i) {
        const int64_t s = r ? pad_source(i, p.begin[r - 1], p.in[r - 1], p.mode) : 0;
        if (outside || s < 0) std::memcpy(o + i * es, &fill, es);
        else std::memcpy(o + i * es, src + (off + s) * es, es);
      }
    }
    return Status();
  });
}

// ---------------------------------------------------------------- Resize
struct Taps {  // per output index along one dim: `count` (input index, weight) pairs
  int count = 1;
  std::vector<int64_t> index;
  std::vector<float> weight;
};

struct ResizeConfig {
  std::string coord, mode, nearest;
  float cubic_a = -0.75f;
  bool exclude_outside = false;
  float extrapolation = 0.f;
};

double source_coord(const ResizeConfig& cfg, int64_t o, double scale, int64_t in_len, int64_t out_len) {
  const double x = static_cast<double>(o);
  if (cfg.coord == "asymmetric") return x / scale;
  // The reference sizes align_corners by in·scale, unfloored, when scales are given.
  const double out_f = static_cast<double>(in_len) * scale;
  if (cfg.coord == "align_corners") return out_len == 1 ? 0.0 : x * (in_len - 1) / (out_f - 1);
  if (cfg.coord == "pytorch_half_pixel") return out_len > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
  if (cfg.coord == "tf_half_pixel_for_nn") return (x + 0.5) / scale;
  return (x + 0.5) / scale - 0.5;  // half_pixel
}

int64_t nearest_index(const std::string& mode, double s, int64_t scale_up) {
  (void)scale_up;
  if (mode == "floor") return static_cast<int64_t>(std::floor(s));
  if (mode == "ceil") return static_cast<int64_t>(std::ceil(s));
  if (mode == "round_prefer_ceil") return static_cast<int64_t>(std::floor(s + 0.5));
  // round_prefer_floor: halves go down
  if (s == std::floor(s) + 0.5) return static_cast<int64_t>(std::floor(s));
  return static_cast<int64_t>(std::round(s));
}

Taps make_taps(const ResizeConfig& cfg, int64_t in_len, int64_t out_len, double scale) {
  Taps t;
  const bool same = in_len == out_len && scale == 1.0;
  if (cfg.mode == "nearest" || same) {
    t.count = 1;
    for (int64_t o = 0; o < out_len; ++o) {
      int64_t i = same ? o : nearest_index(cfg.nearest, source_coord(cfg, o, scale, in_len, out_len), 0);
      t.index.push_back(std::clamp<int64_t>(i, 0, in_len - 1));
      t.weight.push_back(1.f);
    }
    return t;
  }
  if (cfg.mode == "linear") {
    t.count = 2;
    for (int64_t o = 0; o < out_len; ++o) {
      double s = source_coord(cfg, o, scale, in_len, out_len);
      s = std::clamp(s, 0.0, static_cast<double>(in_len - 1));
      const int64_t i0 = static_cast<int64_t>(std::floor(s));
      const int64_t i1 = std::min(i0 + 1, in_len - 1);
      const double f = s - i0;
      t.index.push_back(i0);
      t.weight.push_back(static_cast<float>(1 - f));
      t.index.push_back(i1);
      t.weight.push_back(static_cast<float>(f));
    }
    return t;
  }
  // cubic (Keys, coefficient a)
  t.count = 4;
  const double a = cfg.cubic_a;
  auto k = [a](double x) {
    x = std::abs(x);
    if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
    if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
  };
  for (int64_t o = 0; o < out_len; ++o) {
    const double s = source_coord(cfg, o, scale, in_len, out_len);
    const int64_t base = static_cast<int64_t>(std::floor(s));
    const double f = s - base;
    double w[4] = {k(f + 1), k(f), k(1 - f), k(2 - f)}, sum = 0;
    int64_t idx[4];
    for (int j = 0; j < 4; ++j) {
      const int64_t i = base - 1 + j;
      if (cfg.exclude_outside && (i < 0 || i >= in_len)) w[j] = 0;
      idx[j] = std::clamp<int64_t>(i, 0, in_len - 1);
      sum += w[j];
    }
    for (int j = 0; j < 4; ++j) {
      t.index.push_back(idx[j]);
      t.weight.push_back(static_cast<float>(cfg.exclude_outside && sum != 0 ? w[j] / sum : w[j]));
    }
  }
  return t;
}

Status resize_shapes(const NodeContext& c, Shape* out, std::vector<double>* scales) {
  const Shape& in = c.input_shape(0);
  const int r = in.rank();
  std::vector<int64_t> sizes;
  std::vector<float> sc;
  const int scales_input = c.opset() < 11 ? 1 : 2;
  if (const Tensor* t = c.constant_input(scales_input); t && t->numel() > 0) {
    if (t->dtype != DataType::kFloat32) return c.error("scales must be float");
    sc.assign(t->data<float>(), t->data<float>() + t->numel());
  } else if (c.opset() >= 11 && c.has_input(3)) {
    SEER_RETURN_IF_ERROR(read_ints(c, 3, &sizes));
  } else if (c.has_input(scales_input) || c.has_input(3)) {
    return c.unsupported("scales/sizes must be known at load");
  }
  if (c.node().has_attr("axes") || c.node().attr_string("keep_aspect_ratio_policy", "stretch") != "stretch")
    return c.unsupported("axes / keep_aspect_ratio_policy");
  if (c.node().attr_int("antialias", 0)) return c.unsupported("antialias");
  if (c.node().attr_string("coordinate_transformation_mode", "half_pixel") == "tf_crop_and_resize")
    return c.unsupported("tf_crop_and_resize");
  *out = in;
  scales->assign(r, 1.0);
  if (!sc.empty()) {
    if (static_cast<int>(sc.size()) != r) return c.error("{} scales for rank {}", sc.size(), r);
    for (int i = 0; i < r; ++i) {
      (*scales)[i] = sc[i];
      (*out)[i] = static_cast<int64_t>(std::floor(in[i] * static_cast<double>(sc[i])));
    }
  } else if (!sizes.empty()) {
    if (static_cast<int>(sizes.size()) != r) return c.error("{} sizes for rank {}", sizes.size(), r);
    for (int i = 0; i < r; ++i) {
      (*out)[i] = sizes[i];
      (*scales)[i] = in[i] ? static_cast<double>(sizes[i]) / in[i] : 1.0;
    }
  }
  return Status();
}

Status infer_resize(InferContext& c) {
  if (c.input_dtype(0) != DataType::kFloat32) return c.unsupported("dtype {}", to_string(c.input_dtype(0)));
  Shape out;
  std::vector<double> scales;
  SEER_RETURN_IF_ERROR(resize_shapes(c, &out, &scales));
  c.set_output(0, DataType::kFloat32, out);
  return Status();
}

StatusOr<std::unique_ptr<OpKernel>> create_resize(PrepareContext& c) {
  Shape out;
  std::vector<double> scales;
  SEER_RETURN_IF_ERROR(resize_shapes(c, &out, &scales));
  ResizeConfig cfg;
  cfg.mode = c.node().attr_string("mode", "nearest");
  cfg.coord = c.node().attr_string("coordinate_transformation_mode", c.opset() < 11 ? "asymmetric" : "half_pixel");
  cfg.nearest = c.node().attr_string("nearest_mode", c.opset() < 11 ? "floor" : "round_prefer_floor");
  cfg.cubic_a = c.node().attr_float("cubic_coeff_a", -0.75f);
  cfg.exclude_outside = c.node().attr_int("exclude_outside", 0) != 0;
  if (cfg.mode != "nearest" && cfg.mode != "linear" && cfg.mode != "cubic") return c.unsupported("mode '{}'", cfg.mode);
  const Shape in = c.input_shape(0);
  std::vector<Taps> taps;
  for (int d = 0; d < in.rank(); ++d) taps.push_back(make_taps(cfg, in[d], out[d], scales[d]));
  return make_kernel([taps, in, out](RunContext& ctx) {
    const float* x = ctx.input(0).data<float>();
    float* y = ctx.output(0).data<float>();
    const int r = out.rank();
    int64_t ist[kMaxRank];
    strides_of(in, ist);
    const int64_t total = out.numel();
#pragma omp parallel for if (total > (1 << 14))
    for (int64_t o = 0; o < total; ++o) {
      int64_t coord[kMaxRank];
      int64_t rem = o;
      for (int d = r - 1; d >= 0; --d) { coord[d] = rem % out[d]; rem /= out[d]; }
      // Sum over the tensor product of each dim's taps.
      int tap[kMaxRank] = {};
      double acc = 0;
      while (true) {
        double w = 1;
        int64_t off = 0;
        for (int d = 0; d < r; ++d) {
          const Taps& t = taps[d];
          const size_t k = coord[d] * t.count + tap[d];
          w *= t.weight[k];
          off += t.index[k] * ist[d];
        }
        if (w != 0) acc += w * x[off];
        int d = r - 1;
        for (; d >= 0; --d) {
          if (++tap[d] < taps[d].count) break;
          tap[d] = 0;
        }
        if (d < 0) break;
      }
      y[o] = static_cast<float>(acc);
    }
    return Status();
  });
}

}  // namespace

SEER_REGISTER_OPS(pad_resize) {
  registry.add({.name = "Pad", .domain = "", .min_opset = 2, .attributes = {"mode", "pads", "value"},
                .infer = [](InferContext& c) -> Status {
                  PadPlan p;
                  SEER_RETURN_IF_ERROR(pad_plan(c, &p));
                  c.set_output(0, c.input_dtype(0), p.out);
                  return Status();
                },
                .create = create_pad});
  registry.add({.name = "Resize", .domain = "", .min_opset = 10,
                .attributes = {"mode", "coordinate_transformation_mode", "nearest_mode", "cubic_coeff_a",
                               "exclude_outside", "extrapolation_value", "antialias", "axes",
                               "keep_aspect_ratio_policy"},
                .infer = infer_resize, .create = create_resize});
  registry.add({.name = "Upsample", .domain = "", .min_opset = 9, .max_opset = 9, .attributes = {"mode"},
                .infer = infer_resize, .create = create_resize});
}

}  // namespace seer::engine
