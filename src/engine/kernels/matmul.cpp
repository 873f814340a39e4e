#include "engine/kernels/matmul.h"

#include <algorithm>

#include "engine/kernels/bf16.h"
#include "engine/kernels/dnnl_layout.h"
#include "engine/kernels/dnnl_support.h"
#include "engine/no_alloc.h"

namespace seer::kernels {

using dt = dnnl::memory::data_type;
using Dims = dnnl::memory::dims;

namespace {

Dims contiguous_strides(const Dims& dims) {
  Dims s(dims.size());
  int64_t acc = 1;
  for (size_t i = dims.size(); i-- > 0;) {
    s[i] = acc;
    acc *= dims[i];
  }
  return s;
}

// Strides of a logical [..., R, C] operand stored as [..., C, R] when `transposed`.
Dims operand_strides(const Dims& logical, bool transposed) {
  if (!transposed) return contiguous_strides(logical);
  Dims stored = logical;
  std::swap(stored[stored.size() - 1], stored[stored.size() - 2]);
  Dims s = contiguous_strides(stored);
  std::swap(s[s.size() - 1], s[s.size() - 2]);
  return s;
}

}  // namespace

struct MatMul::Impl {
  MatMulParams params;
  std::vector<int64_t> out_dims;
  int64_t batch = 1, m = 0, n = 0, k = 0;
  dnnl::memory::desc a_md, b_md, bias_md, residual_md, out_md;
  dnnl::memory::desc scratch_md;
  dnnl::memory::desc b_user_md;  // fp32 B as the caller gives it (pack_b source)
  dnnl::matmul prim;
  dnnl::primitive_attr attr;
  size_t dnnl_scratch = 0, a_conv_bytes = 0, b_conv_bytes = 0;
  int64_t a_elems = 0, b_elems = 0;
  int bias_arg = DNNL_ARG_BIAS;
  int residual_arg = 0;
  bool b_in_place = false;  // constant fp32 B used as stored (no packed copy)
  std::string impl;
};

MatMul::MatMul(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MatMul::MatMul(MatMul&&) noexcept = default;
MatMul& MatMul::operator=(MatMul&&) noexcept = default;
MatMul::~MatMul() = default;

StatusOr<MatMul> MatMul::create(const MatMulParams& p) {
  if (p.a_dims.size() < 2 || p.b_dims.size() < 2)
    return Status::invalid_argument("MatMul: operands need rank >= 2 (got {} and {})",
                                    p.a_dims.size(), p.b_dims.size());
  auto impl = std::make_unique<Impl>();
  impl->params = p;
  const size_t rank = std::max(p.a_dims.size(), p.b_dims.size());
  Dims a(rank, 1), b(rank, 1);
  std::copy(p.a_dims.begin(), p.a_dims.end(), a.end() - p.a_dims.size());
  std::copy(p.b_dims.begin(), p.b_dims.end(), b.end() - p.b_dims.size());
  // Logical (untransposed) [.., M, K] and [.., K, N].
  if (p.trans_a) std::swap(a[rank - 1], a[rank - 2]);
  if (p.trans_b) std::swap(b[rank - 1], b[rank - 2]);
  const int64_t m = a[rank - 2], k = a[rank - 1], n = b[rank - 1];
  if (b[rank - 2] != k)
    return Status::invalid_argument("MatMul: inner dimensions differ ({} vs {})", k, b[rank - 2]);
  Dims out(rank);
  for (size_t i = 0; i + 2 < rank; ++i) {
    if (a[i] != b[i] && a[i] != 1 && b[i] != 1)
      return Status::invalid_argument("MatMul: batch dimension {} does not broadcast ({} vs {})", i,
                                      a[i], b[i]);
    out[i] = std::max(a[i], b[i]);
  }
  out[rank - 2] = m;
  out[rank - 1] = n;
  impl->out_dims.assign(out.begin(), out.end());
  impl->m = m;
  impl->n = n;
  impl->k = k;
  impl->batch = product(impl->out_dims, 0, rank - 2);
  impl->a_elems = product(p.a_dims);
  impl->b_elems = product(p.b_dims);

  // Fold A's batch into M when B is a plain 2-D matrix: one GEMM instead of `batch` small ones.
  const bool b_flat = product(b, 0, rank - 2) == 1;
  Dims a_dims = a, b_dims = b, out_dims = out;
  Dims a_strides = operand_strides(a, p.trans_a);
  Dims b_strides = operand_strides(b, p.trans_b);
  if (b_flat && !p.trans_a && rank > 2) {
    a_dims = {impl->batch * m, k};
    a_strides = {k, 1};
    b_dims = {k, n};
    b_strides = operand_strides(b_dims, p.trans_b);
    out_dims = {impl->batch * m, n};
  }
  const size_t r = a_dims.size();
  const dt t = dnnl_type(p.precision);
  impl->a_md = dnnl::memory::desc(a_dims, t, a_strides);
  impl->b_user_md = dnnl::memory::desc(b_dims, dt::f32, b_strides);
  impl->out_md = dnnl::memory::desc(out_dims, dt::f32, contiguous_strides(out_dims));
  dnnl::memory::desc b_req =
      p.b_constant ? dnnl::memory::desc(b_dims, t, dnnl::memory::format_tag::any)
                   : dnnl::memory::desc(b_dims, t, b_strides);
  if (!p.bias_dims.empty()) {
    if (p.bias_dims.size() > impl->out_dims.size())
      return Status::invalid_argument("MatMul: bias rank {} exceeds output rank {}",
                                      p.bias_dims.size(), impl->out_dims.size());
    std::vector<int64_t> full(impl->out_dims.size(), 1);
    std::copy(p.bias_dims.begin(), p.bias_dims.end(), full.end() - p.bias_dims.size());
    for (size_t i = 0; i < full.size(); ++i)
      if (full[i] != 1 && full[i] != impl->out_dims[i])
        return Status::invalid_argument("MatMul: bias does not broadcast to the output");
    Dims bias_dims;
    if (r == 2 && rank > 2) {  // folded: the bias may only vary along N
      if (product(full, 0, full.size() - 1) != 1)
        return Status::unsupported("MatMul: a bias varying along M with a folded batch");
      bias_dims = {1, full.back()};
    } else {
      bias_dims.assign(full.begin(), full.end());
    }
    impl->bias_md = dnnl::memory::desc(bias_dims, dt::f32, contiguous_strides(bias_dims));
  }
  if (p.residual) impl->residual_md = impl->out_md;

  // oneDNN 2.6 applies output scales to (A·B + bias), so a dynamic B with alpha != 1 scales
  // through an eltwise_linear post-op and takes the bias as a binary post-op after it.
  const bool bias_post_op = !p.bias_dims.empty() && !p.b_constant && p.alpha != 1.f;
  auto made = dnnl_call("MatMul", [&] {
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    dnnl::post_ops ops;
    int index = 0;
    if (!p.b_constant && p.alpha != 1.f) {
      ops.append_eltwise(1.f, dnnl::algorithm::eltwise_linear, p.alpha, 0.f);
      ++index;
    }
    if (bias_post_op) {
      ops.append_binary(dnnl::algorithm::binary_add, impl->bias_md);
      impl->bias_arg = DNNL_ARG_ATTR_MULTIPLE_POST_OP(index++) | DNNL_ARG_SRC_1;
    }
    if (p.activation.active()) {
      append_activation(ops, p.activation);
      ++index;
    }
    if (p.residual) {
      ops.append_binary(dnnl::algorithm::binary_add, impl->residual_md);
      impl->residual_arg = DNNL_ARG_ATTR_MULTIPLE_POST_OP(index++) | DNNL_ARG_SRC_1;
    }
    attr.set_post_ops(ops);
    auto make_pd = [&](const dnnl::memory::desc& b_desc) {
      dnnl::matmul::desc d =
          p.bias_dims.empty() || bias_post_op
              ? dnnl::matmul::desc(impl->a_md, b_desc, impl->out_md)
              : dnnl::matmul::desc(impl->a_md, b_desc, impl->bias_md, impl->out_md);
      return dnnl::matmul::primitive_desc(d, attr, cpu_engine());
    };
    dnnl::matmul::primitive_desc pd;
    if (p.b_constant && p.b_in_place_ok && p.alpha == 1.f && t == dt::f32) {
      pd = make_pd(impl->b_user_md);
      if (std::string(pd.impl_info_str()).find("brg") != std::string::npos) impl->b_in_place = true;
    }
    if (!impl->b_in_place) pd = make_pd(b_req);
    impl->b_md = pd.weights_desc();
    impl->scratch_md = pd.scratchpad_desc();
    impl->dnnl_scratch = impl->scratch_md.get_size();
    impl->impl = pd.impl_info_str();
    impl->attr = attr;
    impl->prim = dnnl::matmul(pd);
    return true;
  });
  if (!made.ok()) return made.status();
  if (p.precision == Precision::kBF16) {
    impl->a_conv_bytes = align64(impl->a_elems * sizeof(uint16_t));
    if (!p.b_constant) impl->b_conv_bytes = align64(impl->b_elems * sizeof(uint16_t));
  }
  return MatMul(std::move(impl));
}

const MatMulParams& MatMul::params() const { return impl_->params; }
const std::vector<int64_t>& MatMul::output_dims() const { return impl_->out_dims; }
int64_t MatMul::m() const { return impl_->m; }
int64_t MatMul::n() const { return impl_->n; }
int64_t MatMul::k() const { return impl_->k; }
double MatMul::flops() const { return 2.0 * impl_->batch * impl_->m * impl_->n * impl_->k; }
std::string MatMul::impl_name() const { return impl_->impl; }
std::string MatMul::packed_layout_key() const { return layout_key(impl_->b_md); }

size_t MatMul::packed_b_bytes() const {
  return impl_->params.b_constant && !impl_->b_in_place ? impl_->b_md.get_size() : 0;
}
bool MatMul::b_in_place() const { return impl_->b_in_place; }

size_t MatMul::scratch_bytes() const {
  return align64(impl_->dnnl_scratch) + impl_->a_conv_bytes + impl_->b_conv_bytes;
}

Status MatMul::pack_b(const float* b, void* packed) const {
  if (!impl_->params.b_constant) return Status::internal("MatMul::pack_b: B is not constant");
  // A load-time step (or, for dynamic conv weights, a per-run one): oneDNN builds a reorder.
  engine::AllowAllocScope allow("weight packing");
  auto done = dnnl_call("MatMul weight packing", [&] {
    dnnl::memory src(impl_->b_user_md, cpu_engine(), const_cast<float*>(b));
    dnnl::memory dst(impl_->b_md, cpu_engine(), packed);
    dnnl::primitive_attr attr;
    if (impl_->params.alpha != 1.f) attr.set_output_scales(0, {impl_->params.alpha});
    dnnl::reorder(dnnl::reorder::primitive_desc(src, dst, attr)).execute(thread_stream(), src, dst);
    thread_stream().wait();
    return true;
  });
  return done.ok() ? Status() : done.status();
}

Status MatMul::run(const Args& args) const {
  const Impl& im = *impl_;
  uint8_t* scratch = static_cast<uint8_t*>(args.scratch);
  const void* a = args.a;
  const void* b = args.b;
  if (im.params.precision == Precision::kBF16) {
    uint16_t* a16 = reinterpret_cast<uint16_t*>(scratch + align64(im.dnnl_scratch));
    f32_to_bf16(args.a, a16, im.a_elems);
    a = a16;
    if (!im.params.b_constant) {
      uint16_t* b16 = a16 + im.a_conv_bytes / sizeof(uint16_t);
      f32_to_bf16(static_cast<const float*>(args.b), b16, im.b_elems);
      b = b16;
    }
  }
  return execute(im.prim, {{DNNL_ARG_SRC, &im.a_md, a},
                           {DNNL_ARG_WEIGHTS, &im.b_md, b},
                           {im.bias_arg, &im.bias_md, args.bias},
                           {DNNL_ARG_DST, &im.out_md, args.out},
                           {im.residual_arg, &im.residual_md, args.residual},
                           {DNNL_ARG_SCRATCHPAD, &im.scratch_md, scratch}});
}

}  // namespace seer::kernels
