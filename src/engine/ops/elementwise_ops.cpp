// Elementwise ops: unary math (one template for all), binary and variadic arithmetic with numpy
// broadcasting, comparisons and logic (bool out), Where, Clip, and the activations with
// attributes (LeakyRelu, HardSigmoid, HardSwish, Gelu, Elu, ...).
#pragma GCC diagnostic ignored "-Wpsabi"  // vf16 values never cross a non-inline call
#include <cmath>
#include <limits>
#include <type_traits>

#include "engine/kernels/vec_math.h"
#include "engine/ops/broadcast.h"
#include "engine/ops/op_util.h"

namespace seer::engine {
namespace {

using ops::Broadcast;
namespace vec = kernels::vec;

// ---------------------------------------------------------------- unary
struct UnaryParams {
  float alpha = 0.f, beta = 0.f;
  int mode = 0;
};

template <typename T>
constexpr bool kIsFloat = std::is_floating_point_v<T>;

// Each op: `template <class T> static T f(T x, const UnaryParams& p)`; optional `vf16 v(vf16, p)`
// for float32 vector loops; kAnyNumeric says whether integer inputs are allowed.
#define SEER_UNARY(NAME, ANY, EXPR)                                   \
  struct NAME {                                                       \
    static constexpr bool kAnyNumeric = ANY;                          \
    template <class T> static T f(T x, const UnaryParams& p) { (void)p; return EXPR; } \
  };
#define SEER_UNARY_V(NAME, ANY, EXPR, VEXPR)                          \
  struct NAME {                                                       \
    static constexpr bool kAnyNumeric = ANY;                          \
    template <class T> static T f(T x, const UnaryParams& p) { (void)p; return EXPR; } \
    __attribute__((always_inline)) static vec::vf16 v(vec::vf16 x, const UnaryParams& p) { (void)p; return VEXPR; } \
  };

SEER_UNARY(Sqrt, false, std::sqrt(x))
SEER_UNARY_V(Exp, false, std::exp(x), vec::vexp(x))
SEER_UNARY(Log, false, std::log(x))
SEER_UNARY(Neg, true, static_cast<T>(-x))
SEER_UNARY(Abs, true, static_cast<T>(x < T(0) ? -x : x))
SEER_UNARY(Reciprocal, false, T(1) / x)
SEER_UNARY_V(Erf, false, std::erf(x), vec::verf(x))
SEER_UNARY_V(Tanh, false, std::tanh(x), vec::vtanh(x))
SEER_UNARY_V(Sigmoid, false, T(1) / (T(1) + std::exp(-x)), 1.f / (1.f + vec::vexp(-x)))
SEER_UNARY_V(Relu, true, static_cast<T>(x > T(0) ? x : T(0)), vec::vmax(x, vec::splat(0.f)))
SEER_UNARY(Floor, false, std::floor(x))
SEER_UNARY(Ceil, false, std::ceil(x))
SEER_UNARY(Round, false, std::nearbyint(x))
SEER_UNARY(Sin, false, std::sin(x))
SEER_UNARY(Cos, false, std::cos(x))
SEER_UNARY(Tan, false, std::tan(x))
SEER_UNARY(Atan, false, std::atan(x))
SEER_UNARY(Asin, false, std::asin(x))
SEER_UNARY(Acos, false, std::acos(x))
SEER_UNARY(Sinh, false, std::sinh(x))
SEER_UNARY(Cosh, false, std::cosh(x))
SEER_UNARY(Sign, true, static_cast<T>(x > T(0) ? 1 : (x < T(0) ? -1 : 0)))
SEER_UNARY(Softplus, false, x > T(20) ? x : std::log1p(std::exp(x)))
SEER_UNARY(Softsign, false, x / (T(1) + std::abs(x)))
SEER_UNARY(IsNaN, false, x)  // placeholder never registered
SEER_UNARY(LeakyRelu, false, x < T(0) ? static_cast<T>(p.alpha) * x : x)
SEER_UNARY(Elu, false, x < T(0) ? static_cast<T>(p.alpha) * (std::exp(x) - T(1)) : x)
SEER_UNARY(Selu, false, static_cast<T>(p.beta) * (x <= T(0) ? static_cast<T>(p.alpha) * (std::exp(x) - T(1)) : x))
SEER_UNARY(Celu, false, std::max(T(0), x) + std::min(T(0), static_cast<T>(p.alpha) * (std::exp(x / static_cast<T>(p.alpha)) - T(1))))
SEER_UNARY(ThresholdedRelu, false, x > static_cast<T>(p.alpha) ? x : T(0))
SEER_UNARY(HardSigmoid, false, std::max(T(0), std::min(T(1), static_cast<T>(p.alpha) * x + static_cast<T>(p.beta))))
SEER_UNARY(HardSwish, false, x * std::max(T(0), std::min(T(1), x / T(6) + T(0.5))))
SEER_UNARY(Mish, false, x * std::tanh(std::log1p(std::exp(x))))
SEER_UNARY_V(Gelu, false,
             p.mode ? static_cast<T>(0.5) * x * (T(1) + std::tanh(static_cast<T>(0.7978845608028654) * (x + static_cast<T>(0.044715) * x * x * x)))
                    : static_cast<T>(0.5) * x * (T(1) + std::erf(x * static_cast<T>(0.7071067811865476))),
             p.mode ? vec::vgelu_tanh(x) : vec::vgelu_erf(x))

template <typename Op, typename T>
void unary_loop(const T* x, T* y, int64_t n, const UnaryParams& p) {
  constexpr int64_t kChunk = 1 << 14;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (chunks > 4)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t b = c * kChunk, e = std::min(n, b + kChunk);
    int64_t i = b;
    if constexpr (std::is_same_v<T, float> && requires { Op::v(vec::vf16{}, p); }) {
      for (; i + vec::kLanes <= e; i += vec::kLanes) vec::store(y + i, Op::v(vec::load(x + i), p));
    }
    for (; i < e; ++i) y[i] = Op::template f<T>(x[i], p);
  }
}

template <typename Op>
class UnaryKernel final : public OpKernel {
 public:
  explicit UnaryKernel(UnaryParams p) : p_(p) {}
  Status run(RunContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    bool ok = ops::dispatch_numeric(x.dtype, [&](auto t) {
      using T = decltype(t);
      if constexpr (kIsFloat<T> || Op::kAnyNumeric)
        unary_loop<Op, T>(x.data<T>(), y.data<T>(), x.numel(), p_);
    });
    return ok ? Status() : Status::internal("unary op on {}", to_string(x.dtype));
  }

 private:
  UnaryParams p_;
};

Status unary_infer(InferContext& c, bool any_numeric) {
  const DataType t = c.input_dtype(0);
  if (!(t == DataType::kFloat32 || t == DataType::kFloat64 || (any_numeric && is_integer(t))))
    return c.unsupported("input type {}", to_string(t));
  c.set_output(0, t, c.input_shape(0));
  return Status();
}

template <typename Op>
void add_unary(OpRegistry& r, const char* name, std::vector<std::string> attrs = {},
               UnaryParams (*params)(const Node&) = nullptr, int min_opset = 1) {
  r.add({.name = name, .domain = "", .min_opset = min_opset, .attributes = std::move(attrs),
         .infer = [](InferContext& c) { return unary_infer(c, Op::kAnyNumeric); },
         .create = [params](PrepareContext& c) -> StatusOr<std::unique_ptr<OpKernel>> {
           UnaryParams p = params ? params(c.node()) : UnaryParams{};
           return std::unique_ptr<OpKernel>(new UnaryKernel<Op>(p));
         }});
}

// ---------------------------------------------------------------- binary / variadic
enum class Bin { kAdd, kSub, kMul, kDiv, kPow, kMin, kMax, kMod, kFMod, kPRelu, kEq, kLt, kGt, kLe, kGe, kAnd, kOr, kXor, kBitAnd, kBitOr, kBitXor };

bool is_compare(Bin b) { return b >= Bin::kEq && b <= Bin::kGe; }
bool is_logic(Bin b) { return b == Bin::kAnd || b == Bin::kOr || b == Bin::kXor; }

template <Bin kOp, typename T>
inline auto bin(T a, T b) {
  if constexpr (kOp == Bin::kAdd) return static_cast<T>(a + b);
  else if constexpr (kOp == Bin::kSub) return static_cast<T>(a - b);
  else if constexpr (kOp == Bin::kMul) return static_cast<T>(a * b);
  else if constexpr (kOp == Bin::kDiv) {
    if constexpr (std::is_integral_v<T>) return static_cast<T>(b == 0 ? 0 : a / b);
    else return static_cast<T>(a / b);
  } else if constexpr (kOp == Bin::kPow) {
    if constexpr (std::is_integral_v<T>) return static_cast<T>(std::pow(static_cast<double>(a), static_cast<double>(b)));
    else return static_cast<T>(std::pow(a, b));
  } else if constexpr (kOp == Bin::kMin) {
    if constexpr (kIsFloat<T>) { if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN(); }
    return a < b ? a : b;
  } else if constexpr (kOp == Bin::kMax) {
    if constexpr (kIsFloat<T>) { if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN(); }
    return a > b ? a : b;
  } else if constexpr (kOp == Bin::kMod) {
    if constexpr (std::is_integral_v<T>) {
      if (b == 0) return T(0);
      T m = static_cast<T>(a % b);
      if constexpr (std::is_signed_v<T>) if (m != 0 && ((m < 0) != (b < 0))) m = static_cast<T>(m + b);
      return m;
    } else {
      T m = std::fmod(a, b);
      if (m != 0 && ((m < 0) != (b < 0))) m += b;
      return m;
    }
  } else if constexpr (kOp == Bin::kFMod) {
    if constexpr (std::is_integral_v<T>) return static_cast<T>(b == 0 ? 0 : a % b);
    else return static_cast<T>(std::fmod(a, b));
  } else if constexpr (kOp == Bin::kPRelu) return static_cast<T>(a < T(0) ? a * b : a);
  else if constexpr (kOp == Bin::kEq) return static_cast<bool>(a == b);
  else if constexpr (kOp == Bin::kLt) return static_cast<bool>(a < b);
  else if constexpr (kOp == Bin::kGt) return static_cast<bool>(a > b);
  else if constexpr (kOp == Bin::kLe) return static_cast<bool>(a <= b);
  else if constexpr (kOp == Bin::kGe) return static_cast<bool>(a >= b);
  else if constexpr (kOp == Bin::kAnd) return static_cast<bool>(a && b);
  else if constexpr (kOp == Bin::kOr) return static_cast<bool>(a || b);
  else if constexpr (kOp == Bin::kXor) return static_cast<bool>(static_cast<bool>(a) != static_cast<bool>(b));
  else if constexpr (kOp == Bin::kBitAnd) { if constexpr (std::is_integral_v<T>) return static_cast<T>(a & b); else return a; }
  else if constexpr (kOp == Bin::kBitOr) { if constexpr (std::is_integral_v<T>) return static_cast<T>(a | b); else return a; }
  else { if constexpr (std::is_integral_v<T>) return static_cast<T>(a ^ b); else return a; }
}

// out = a op b with broadcasting; R is the output element type.
template <Bin kOp, typename T, typename R>
void binary_apply(const Broadcast& bc, const T* a, const T* b, R* out) {
  bc.for_each_row([&](int64_t o, const int64_t* off, int64_t n, const int64_t* st) {
    const T* pa = a + off[0];
    const T* pb = b + off[1];
    R* po = out + o;
    if (st[0] && st[1]) {
      for (int64_t i = 0; i < n; ++i) po[i] = bin<kOp, T>(pa[i], pb[i]);
    } else if (st[0]) {
      const T vb = pb[0];
      for (int64_t i = 0; i < n; ++i) po[i] = bin<kOp, T>(pa[i], vb);
    } else if (st[1]) {
      const T va = pa[0];
      for (int64_t i = 0; i < n; ++i) po[i] = bin<kOp, T>(va, pb[i]);
    } else {
      const R v = bin<kOp, T>(pa[0], pb[0]);
      for (int64_t i = 0; i < n; ++i) po[i] = v;
    }
  });
}

template <Bin kOp, typename T>
void binary_typed(const Broadcast& bc, const void* a, const void* b, void* out) {
  using R = decltype(bin<kOp, T>(T{}, T{}));
  binary_apply<kOp, T, R>(bc, static_cast<const T*>(a), static_cast<const T*>(b), static_cast<R*>(out));
}

// For variadic ops (Sum, Max, Min, Mean), inputs after the first fold into the output.
template <Bin kOp>
class BinaryKernel final : public OpKernel {
 public:
  BinaryKernel(std::vector<Broadcast> steps, DataType t, bool first_copy, float scale)
      : steps_(std::move(steps)), t_(t), first_copy_(first_copy), scale_(scale) {}
  Status run(RunContext& ctx) const override {
    Tensor& y = ctx.output(0);
    bool ok = true;
    auto go = [&](auto tag) {
      using T = decltype(tag);
      if (first_copy_) {  // y = broadcast(x0), then y = y op x_i
        const Broadcast& b0 = steps_[0];
        const T* x0 = ctx.input(0).data<T>();
        T* py = y.data<T>();
        b0.for_each_row([&](int64_t o, const int64_t* off, int64_t n, const int64_t* st) {
          for (int64_t i = 0; i < n; ++i) py[o + i] = x0[off[0] + i * st[0]];
        });
        for (size_t k = 1; k < steps_.size(); ++k)
          binary_typed<kOp, T>(steps_[k], py, ctx.input(static_cast<int>(k)).raw(), py);
        if (scale_ != 1.f) {
          for (int64_t i = 0, n = y.numel(); i < n; ++i) py[i] = static_cast<T>(py[i] * static_cast<T>(scale_));
        }
      } else {
        binary_typed<kOp, T>(steps_[0], ctx.input(0).raw(), ctx.input(1).raw(), y.raw());
      }
    };
    if (t_ == DataType::kBool) go(uint8_t{});
    else ok = ops::dispatch_numeric(t_, go);
    return ok ? Status() : Status::internal("binary op on {}", to_string(t_));
  }

 private:
  std::vector<Broadcast> steps_;
  DataType t_;
  bool first_copy_;
  float scale_;
};

template <Bin kOp>
void add_binary(OpRegistry& r, const char* name, bool variadic = false, bool mean = false,
                std::vector<std::string> attrs = {}, int min_opset = 1, int max_opset = INT_MAX) {
  r.add({.name = name, .domain = "", .min_opset = min_opset, .max_opset = max_opset,
         .attributes = std::move(attrs),
         .infer = [variadic](InferContext& c) -> Status {
           const int n = c.num_inputs();
           if (n < 1 || (!variadic && n != 2)) return c.error("{} inputs", n);
           const DataType t = c.input_dtype(0);
           if (is_logic(kOp) && t != DataType::kBool) return c.unsupported("input type {}", to_string(t));
           if (!is_logic(kOp) && t == DataType::kBool && kOp != Bin::kEq)
             return c.unsupported("input type bool");
           if (t == DataType::kFloat16 || t == DataType::kBFloat16 || t == DataType::kString ||
               t == DataType::kUndefined)
             return c.unsupported("input type {}", to_string(t));
           Shape s = c.input_shape(0);
           for (int i = 1; i < n; ++i) {
             if (c.input_dtype(i) != t)
               return c.unsupported("mixed input types {} and {}", to_string(t), to_string(c.input_dtype(i)));
             SEER_ASSIGN_OR_RETURN(s, ops::broadcast_shapes(c, s, c.input_shape(i)));
           }
           c.set_output(0, is_compare(kOp) || is_logic(kOp) ? DataType::kBool : t, s);
           return Status();
         },
         .create = [variadic, mean](PrepareContext& c) -> StatusOr<std::unique_ptr<OpKernel>> {
           const Shape& out = c.output_shape(0);
           std::vector<Broadcast> steps;
           if (!variadic) {
             steps.push_back(Broadcast::plan(out, {c.input_shape(0), c.input_shape(1)}));
           } else {
             steps.push_back(Broadcast::plan(out, {c.input_shape(0)}));
             for (int i = 1; i < c.num_inputs(); ++i)
               steps.push_back(Broadcast::plan(out, {out, c.input_shape(i)}));
           }
           float scale = mean ? 1.f / static_cast<float>(c.num_inputs()) : 1.f;
           return std::unique_ptr<OpKernel>(
               new BinaryKernel<kOp>(std::move(steps), c.input_dtype(0), variadic, scale));
         }});
}

// ---------------------------------------------------------------- Where, Not, Clip
class WhereKernel final : public OpKernel {
 public:
  explicit WhereKernel(Broadcast bc) : bc_(bc) {}
  Status run(RunContext& ctx) const override {
    const uint8_t* c = ctx.input(0).data<uint8_t>();
    const size_t es = dtype_size(ctx.input(1).dtype);
    const uint8_t* x = static_cast<const uint8_t*>(ctx.input(1).raw());
    const uint8_t* y = static_cast<const uint8_t*>(ctx.input(2).raw());
    uint8_t* out = static_cast<uint8_t*>(ctx.output(0).raw());
    auto go = [&](auto tag) {
      using T = decltype(tag);
      const T* px = reinterpret_cast<const T*>(x);
      const T* py = reinterpret_cast<const T*>(y);
      T* po = reinterpret_cast<T*>(out);
      bc_.for_each_row([&](int64_t o, const int64_t* off, int64_t n, const int64_t* st) {
        for (int64_t i = 0; i < n; ++i)
          po[o + i] = c[off[0] + i * st[0]] ? px[off[1] + i * st[1]] : py[off[2] + i * st[2]];
      });
    };
    switch (es) {
      case 1: go(uint8_t{}); break;
      case 2: go(uint16_t{}); break;
      case 4: go(uint32_t{}); break;
      case 8: go(uint64_t{}); break;
      default: return Status::internal("Where element size {}", es);
    }
    return Status();
  }

 private:
  Broadcast bc_;
};

template <typename T>
void clip_loop(const T* x, T* y, int64_t n, T lo, T hi) {
#pragma omp parallel for if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] < lo ? lo : (x[i] > hi ? hi : x[i]);
}

}  // namespace

SEER_REGISTER_OPS(elementwise) {
  add_unary<Sqrt>(registry, "Sqrt");
  add_unary<Exp>(registry, "Exp");
  add_unary<Log>(registry, "Log");
  add_unary<Neg>(registry, "Neg");
  add_unary<Abs>(registry, "Abs");
  add_unary<Reciprocal>(registry, "Reciprocal");
  add_unary<Erf>(registry, "Erf");
  add_unary<Tanh>(registry, "Tanh");
  add_unary<Sigmoid>(registry, "Sigmoid");
  add_unary<Relu>(registry, "Relu");
  add_unary<Floor>(registry, "Floor");
  add_unary<Ceil>(registry, "Ceil");
  add_unary<Round>(registry, "Round");
  add_unary<Sin>(registry, "Sin");
  add_unary<Cos>(registry, "Cos");
  add_unary<Tan>(registry, "Tan");
  add_unary<Atan>(registry, "Atan");
  add_unary<Asin>(registry, "Asin");
  add_unary<Acos>(registry, "Acos");
  add_unary<Sinh>(registry, "Sinh");
  add_unary<Cosh>(registry, "Cosh");
  add_unary<Sign>(registry, "Sign");
  add_unary<Softplus>(registry, "Softplus");
  add_unary<Softsign>(registry, "Softsign");
  add_unary<HardSwish>(registry, "HardSwish");
  add_unary<Mish>(registry, "Mish");
  add_unary<LeakyRelu>(registry, "LeakyRelu", {"alpha"},
                       [](const Node& n) { return UnaryParams{n.attr_float("alpha", 0.01f)}; });
  add_unary<Elu>(registry, "Elu", {"alpha"},
                 [](const Node& n) { return UnaryParams{n.attr_float("alpha", 1.f)}; });
  add_unary<Celu>(registry, "Celu", {"alpha"},
                  [](const Node& n) { return UnaryParams{n.attr_float("alpha", 1.f)}; });
  add_unary<Selu>(registry, "Selu", {"alpha", "gamma"}, [](const Node& n) {
    return UnaryParams{n.attr_float("alpha", 1.67326319217681884765625f),
                       n.attr_float("gamma", 1.05070102214813232421875f)};
  });
  add_unary<ThresholdedRelu>(registry, "ThresholdedRelu", {"alpha"},
                             [](const Node& n) { return UnaryParams{n.attr_float("alpha", 1.f)}; });
  add_unary<HardSigmoid>(registry, "HardSigmoid", {"alpha", "beta"}, [](const Node& n) {
    return UnaryParams{n.attr_float("alpha", 0.2f), n.attr_float("beta", 0.5f)};
  });
  add_unary<Gelu>(registry, "Gelu", {"approximate"}, [](const Node& n) {
    return UnaryParams{0.f, 0.f, n.attr_string("approximate", "none") == "tanh" ? 1 : 0};
  });

  add_binary<Bin::kAdd>(registry, "Add", false, false, {}, 7);
  add_binary<Bin::kSub>(registry, "Sub", false, false, {}, 7);
  add_binary<Bin::kMul>(registry, "Mul", false, false, {}, 7);
  add_binary<Bin::kDiv>(registry, "Div", false, false, {}, 7);
  add_binary<Bin::kPow>(registry, "Pow", false, false, {}, 7);
  add_binary<Bin::kPRelu>(registry, "PRelu", false, false, {}, 7);
  add_binary<Bin::kMin>(registry, "Min", true, false, {}, 8);
  add_binary<Bin::kMax>(registry, "Max", true, false, {}, 8);
  add_binary<Bin::kAdd>(registry, "Sum", true, false, {}, 8);
  add_binary<Bin::kAdd>(registry, "Mean", true, true, {}, 8);
  add_binary<Bin::kEq>(registry, "Equal", false, false, {}, 7);
  add_binary<Bin::kLt>(registry, "Less", false, false, {}, 7);
  add_binary<Bin::kGt>(registry, "Greater", false, false, {}, 7);
  add_binary<Bin::kLe>(registry, "LessOrEqual", false, false, {}, 12);
  add_binary<Bin::kGe>(registry, "GreaterOrEqual", false, false, {}, 12);
  add_binary<Bin::kAnd>(registry, "And", false, false, {}, 7);
  add_binary<Bin::kOr>(registry, "Or", false, false, {}, 7);
  add_binary<Bin::kXor>(registry, "Xor", false, false, {}, 7);
  add_binary<Bin::kBitAnd>(registry, "BitwiseAnd", false, false, {}, 18);
  add_binary<Bin::kBitOr>(registry, "BitwiseOr", false, false, {}, 18);
  add_binary<Bin::kBitXor>(registry, "BitwiseXor", false, false, {}, 18);
  // Mod: fmod=0 is Python's sign-of-divisor remainder, fmod=1 C's fmod; one def, two kernels.
  registry.add({.name = "Mod", .domain = "", .min_opset = 10, .attributes = {"fmod"},
                .infer = [](InferContext& c) -> Status {
                  SEER_ASSIGN_OR_RETURN(Shape s, ops::broadcast_shapes(c, c.input_shape(0), c.input_shape(1)));
                  if (c.input_dtype(0) != c.input_dtype(1) || c.input_dtype(0) == DataType::kFloat16)
                    return c.unsupported("input types");
                  c.set_output(0, c.input_dtype(0), s);
                  return Status();
                },
                .create = [](PrepareContext& c) -> StatusOr<std::unique_ptr<OpKernel>> {
                  std::vector<Broadcast> st{Broadcast::plan(c.output_shape(0), {c.input_shape(0), c.input_shape(1)})};
                  if (c.node().attr_int("fmod", 0))
                    return std::unique_ptr<OpKernel>(new BinaryKernel<Bin::kFMod>(st, c.input_dtype(0), false, 1.f));
                  return std::unique_ptr<OpKernel>(new BinaryKernel<Bin::kMod>(st, c.input_dtype(0), false, 1.f));
                }});

  registry.add({.name = "Not", .domain = "", .min_opset = 1, .attributes = {},
                .infer = [](InferContext& c) -> Status {
                  if (c.input_dtype(0) != DataType::kBool) return c.unsupported("input type");
                  c.set_output(0, DataType::kBool, c.input_shape(0));
                  return Status();
                },
                .create = [](PrepareContext&) -> StatusOr<std::unique_ptr<OpKernel>> {
                  return ops::make_kernel([](RunContext& ctx) {
                    const uint8_t* x = ctx.input(0).data<uint8_t>();
                    uint8_t* y = ctx.output(0).data<uint8_t>();
                    for (int64_t i = 0, n = ctx.output(0).numel(); i < n; ++i) y[i] = !x[i];
                    return Status();
                  });
                }});

  registry.add({.name = "Where", .domain = "", .min_opset = 9, .attributes = {},
                .infer = [](InferContext& c) -> Status {
                  if (c.input_dtype(0) != DataType::kBool) return c.error("condition must be bool");
                  if (c.input_dtype(1) != c.input_dtype(2)) return c.error("X and Y types differ");
                  SEER_ASSIGN_OR_RETURN(Shape s, ops::broadcast_shapes(c, c.input_shape(0), c.input_shape(1)));
                  SEER_ASSIGN_OR_RETURN(s, ops::broadcast_shapes(c, s, c.input_shape(2)));
                  c.set_output(0, c.input_dtype(1), s);
                  return Status();
                },
                .create = [](PrepareContext& c) -> StatusOr<std::unique_ptr<OpKernel>> {
                  return std::unique_ptr<OpKernel>(new WhereKernel(Broadcast::plan(
                      c.output_shape(0), {c.input_shape(0), c.input_shape(1), c.input_shape(2)})));
                }});

  // Clip: min/max are attributes before opset 11 and optional inputs after.
  registry.add({.name = "Clip", .domain = "", .min_opset = 6, .attributes = {"min", "max"},
                .infer = [](InferContext& c) -> Status {
                  const DataType t = c.input_dtype(0);
                  if (!(t == DataType::kFloat32 || t == DataType::kFloat64 || is_integer(t)))
                    return c.unsupported("input type {}", to_string(t));
                  for (int i = 1; i < 3; ++i)
                    if (c.has_input(i) && c.input_shape(i).numel() != 1) return c.error("min/max must be scalars");
                  c.set_output(0, t, c.input_shape(0));
                  return Status();
                },
                .create = [](PrepareContext& c) -> StatusOr<std::unique_ptr<OpKernel>> {
                  const bool attr = c.opset() < 11;
                  const float amin = c.node().attr_float("min", -std::numeric_limits<float>::max());
                  const float amax = c.node().attr_float("max", std::numeric_limits<float>::max());
                  return ops::make_kernel([attr, amin, amax](RunContext& ctx) {
                    const Tensor& x = ctx.input(0);
                    bool ok = ops::dispatch_numeric(x.dtype, [&](auto tag) {
                      using T = decltype(tag);
                      T lo = std::numeric_limits<T>::lowest(), hi = std::numeric_limits<T>::max();
                      if (attr) {
                        lo = static_cast<T>(amin);
                        hi = static_cast<T>(amax);
                      } else {
                        if (ctx.has_input(1)) lo = *ctx.input(1).data<T>();
                        if (ctx.has_input(2)) hi = *ctx.input(2).data<T>();
                      }
                      clip_loop<T>(x.data<T>(), ctx.output(0).data<T>(), x.numel(), lo, hi);
                    });
                    return ok ? Status() : Status::internal("Clip type");
                  });
                }});
}

}  // namespace seer::engine
