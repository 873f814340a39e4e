#include "engine/kernels/conv.h"

#include <algorithm>

#include "engine/kernels/dnnl_layout.h"
#include "engine/kernels/dnnl_support.h"
#include "engine/no_alloc.h"

namespace seer::kernels {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;
using Dims = dnnl::memory::dims;

struct Conv::Impl {
  ConvParams p;
  int64_t oh = 0, ow = 0;
  dnnl::memory::desc src_user, src_md, dst_md, dst_user, w_user, w_md, bias_md;
  dnnl::memory::desc conv_scratch_md, src_reorder_scratch_md, dst_reorder_scratch_md;
  dnnl::primitive conv;
  dnnl::primitive src_reorder, dst_reorder;  // empty when the layouts coincide
  bool reorder_src = true, reorder_dst = true;
  int64_t extra_h = 0, extra_w = 0;  // ConvTranspose rows/cols past every contribution (bias only)
  size_t off_src = 0, off_dst = 0, off_rs = 0, off_rd = 0, total = 0;
  std::string impl;
};

Conv::Conv(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Conv::Conv(Conv&&) noexcept = default;
Conv& Conv::operator=(Conv&&) noexcept = default;
Conv::~Conv() = default;

StatusOr<Conv> Conv::create(const ConvParams& p) {
  if (p.groups < 1 || p.c_in % p.groups != 0 || p.c_out % p.groups != 0)
    return Status::invalid_argument("Conv: channels {} -> {} do not divide into {} groups", p.c_in,
                                    p.c_out, p.groups);
  if (p.stride_h < 1 || p.stride_w < 1 || p.dilation_h < 1 || p.dilation_w < 1)
    return Status::invalid_argument("Conv: strides and dilations must be >= 1");
  auto im = std::make_unique<Impl>();
  im->p = p;
  const int64_t ekh = (p.kh - 1) * p.dilation_h + 1, ekw = (p.kw - 1) * p.dilation_w + 1;
  if (!p.transposed) {
    im->oh = conv_output_size(p.h, p.kh, p.stride_h, p.dilation_h, p.pad_top, p.pad_bottom);
    im->ow = conv_output_size(p.w, p.kw, p.stride_w, p.dilation_w, p.pad_left, p.pad_right);
  } else {
    im->oh = p.stride_h * (p.h - 1) + p.output_pad_h + ekh - p.pad_top - p.pad_bottom;
    im->ow = p.stride_w * (p.w - 1) + p.output_pad_w + ekw - p.pad_left - p.pad_right;
  }
  if (im->oh <= 0 || im->ow <= 0)
    return Status::invalid_argument("Conv: empty output {}x{} for input {}x{}", im->oh, im->ow, p.h,
                                    p.w);
  // oneDNN refuses negative right padding, which ConvTranspose gets when output_padding (or an
  // output_shape) asks for more rows than any input reaches. Those rows hold only the bias: the
  // primitive computes the rest and run() fills the margin.
  if (p.transposed) {
    im->extra_h = std::max<int64_t>(0, p.output_pad_h - p.pad_bottom);
    im->extra_w = std::max<int64_t>(0, p.output_pad_w - p.pad_right);
  }
  if (p.pad_top < 0 || p.pad_left < 0) return Status::unsupported("Conv: negative leading padding");
  const dt t = dnnl_type(p.precision);
  const Dims src_dims{p.n, p.c_in, p.h, p.w};
  const Dims dst_dims{p.n, p.c_out, im->oh - im->extra_h, im->ow - im->extra_w};
  const int64_t g = p.groups, ocg = p.c_out / g, icg = p.c_in / g;
  Dims w_dims = g > 1 ? Dims{g, ocg, icg, p.kh, p.kw} : Dims{p.c_out, p.c_in, p.kh, p.kw};
  im->src_user = dnnl::memory::desc(src_dims, dt::f32, tag::nchw);
  im->dst_user = dnnl::memory::desc(dst_dims, dt::f32, Dims{p.c_out * im->oh * im->ow, im->oh * im->ow, im->ow, 1});
  im->src_md = dnnl::memory::desc(src_dims, t, tag::nhwc);
  im->dst_md = dnnl::memory::desc(dst_dims, dt::f32, tag::nhwc);
  // NCHW and NHWC are the same bytes when there is one channel or one pixel.
  im->reorder_src = !(p.c_in == 1 || p.h * p.w == 1) || p.precision == Precision::kBF16;
  im->reorder_dst = !(p.c_out == 1 || im->oh * im->ow == 1) || im->extra_h > 0 || im->extra_w > 0;
  if (!im->reorder_src) im->src_md = im->src_user;
  if (!im->reorder_dst) im->dst_md = im->dst_user;
  if (!p.transposed)
    im->w_user = dnnl::memory::desc(w_dims, dt::f32, g > 1 ? tag::goihw : tag::oihw);
  else
    im->w_user = dnnl::memory::desc(w_dims, dt::f32, g > 1 ? tag::giohw : tag::iohw);
  if (p.has_bias) im->bias_md = dnnl::memory::desc({p.c_out}, dt::f32, tag::a);
  const Dims strides{p.stride_h, p.stride_w}, dil{p.dilation_h - 1, p.dilation_w - 1};
  const Dims pad_l{p.pad_top, p.pad_left};
  const Dims pad_r{p.pad_bottom - (p.transposed ? p.output_pad_h - im->extra_h : 0),
                   p.pad_right - (p.transposed ? p.output_pad_w - im->extra_w : 0)};
  const dnnl::memory::desc w_any(w_dims, t, tag::any);
  const char* what = p.transposed ? "ConvTranspose" : "Conv";

  auto made = dnnl_call(what, [&] {
    dnnl::primitive_attr attr = make_attr(p.activation);
    dnnl::memory::desc scratch;
    if (!p.transposed) {
      auto d = p.has_bias ? dnnl::convolution_forward::desc(
                                dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                im->src_md, w_any, im->bias_md, im->dst_md, strides, dil, pad_l, pad_r)
                          : dnnl::convolution_forward::desc(
                                dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                im->src_md, w_any, im->dst_md, strides, dil, pad_l, pad_r);
      dnnl::convolution_forward::primitive_desc pd(d, attr, cpu_engine());
      im->w_md = pd.weights_desc();
      im->conv_scratch_md = pd.scratchpad_desc();
      im->impl = pd.impl_info_str();
      im->conv = dnnl::convolution_forward(pd);
    } else {
      auto d = p.has_bias
                   ? dnnl::deconvolution_forward::desc(
                         dnnl::prop_kind::forward_inference, dnnl::algorithm::deconvolution_direct,
                         im->src_md, w_any, im->bias_md, im->dst_md, strides, dil, pad_l, pad_r)
                   : dnnl::deconvolution_forward::desc(
                         dnnl::prop_kind::forward_inference, dnnl::algorithm::deconvolution_direct,
                         im->src_md, w_any, im->dst_md, strides, dil, pad_l, pad_r);
      dnnl::deconvolution_forward::primitive_desc pd(d, attr, cpu_engine());
      im->w_md = pd.weights_desc();
      im->conv_scratch_md = pd.scratchpad_desc();
      im->impl = pd.impl_info_str();
      im->conv = dnnl::deconvolution_forward(pd);
    }
    dnnl::primitive_attr rattr;
    rattr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    if (im->reorder_src) {
      dnnl::reorder::primitive_desc rpd(cpu_engine(), im->src_user, cpu_engine(), im->src_md, rattr);
      im->src_reorder_scratch_md = rpd.scratchpad_desc();
      im->src_reorder = dnnl::reorder(rpd);
    }
    if (im->reorder_dst) {
      dnnl::reorder::primitive_desc rpd(cpu_engine(), im->dst_md, cpu_engine(), im->dst_user, rattr);
      im->dst_reorder_scratch_md = rpd.scratchpad_desc();
      im->dst_reorder = dnnl::reorder(rpd);
    }
    return true;
  });
  if (!made.ok()) return made.status();
  size_t off = align64(im->conv_scratch_md.get_size());
  im->off_src = off;
  if (im->reorder_src) off += align64(im->src_md.get_size());
  im->off_dst = off;
  if (im->reorder_dst) off += align64(im->dst_md.get_size());
  im->off_rs = off;
  off += align64(im->src_reorder_scratch_md.get_size());
  im->off_rd = off;
  off += align64(im->dst_reorder_scratch_md.get_size());
  im->total = off;
  return Conv(std::move(im));
}

const ConvParams& Conv::params() const { return impl_->p; }
std::vector<int64_t> Conv::output_dims() const {
  return {impl_->p.n, impl_->p.c_out, impl_->oh, impl_->ow};
}
double Conv::flops() const {
  const ConvParams& p = impl_->p;
  const int64_t pixels = p.transposed ? p.h * p.w : impl_->oh * impl_->ow;
  return 2.0 * p.n * pixels * p.c_out * (p.c_in / p.groups) * p.kh * p.kw;
}
size_t Conv::packed_weights_bytes() const { return impl_->w_md.get_size(); }
size_t Conv::scratch_bytes() const { return impl_->total; }
std::string Conv::impl_name() const { return impl_->impl; }
std::string Conv::packed_layout_key() const { return layout_key(impl_->w_md); }

Status Conv::pack_weights(const float* weights, void* packed) const {
  // A load-time step (or, for dynamic conv weights, a per-run one): oneDNN builds a reorder.
  engine::AllowAllocScope allow("weight packing");
  auto done = dnnl_call("Conv weight packing", [&] {
    dnnl::memory src(impl_->w_user, cpu_engine(), const_cast<float*>(weights));
    dnnl::memory dst(impl_->w_md, cpu_engine(), packed);
    dnnl::reorder(src, dst).execute(thread_stream(), src, dst);
    thread_stream().wait();
    return true;
  });
  return done.ok() ? Status() : done.status();
}

Status Conv::run(const Args& args) const {
  const Impl& im = *impl_;
  uint8_t* s = static_cast<uint8_t*>(args.scratch);
  const void* src = args.src;
  void* dst = args.dst;
  if (im.reorder_src) {
    SEER_RETURN_IF_ERROR(execute(im.src_reorder, {{DNNL_ARG_FROM, &im.src_user, args.src},
                                                  {DNNL_ARG_TO, &im.src_md, s + im.off_src},
                                                  {DNNL_ARG_SCRATCHPAD, &im.src_reorder_scratch_md, s + im.off_rs}}));
    src = s + im.off_src;
  }
  if (im.reorder_dst) dst = s + im.off_dst;
  SEER_RETURN_IF_ERROR(execute(im.conv, {{DNNL_ARG_SRC, &im.src_md, src},
                                         {DNNL_ARG_WEIGHTS, &im.w_md, args.weights},
                                         {DNNL_ARG_BIAS, &im.bias_md, args.bias},
                                         {DNNL_ARG_DST, &im.dst_md, dst},
                                         {DNNL_ARG_SCRATCHPAD, &im.conv_scratch_md, s}}));
  if (im.extra_h > 0 || im.extra_w > 0) {
    const int64_t plane = im.oh * im.ow;
    for (int64_t i = 0; i < im.p.n * im.p.c_out; ++i) {
      const float v = args.bias ? args.bias[i % im.p.c_out] : 0.f;
      std::fill(args.dst + i * plane, args.dst + (i + 1) * plane, v);
    }
  }
  if (im.reorder_dst)
    SEER_RETURN_IF_ERROR(execute(im.dst_reorder, {{DNNL_ARG_FROM, &im.dst_md, dst},
                                                  {DNNL_ARG_TO, &im.dst_user, args.dst},
                                                  {DNNL_ARG_SCRATCHPAD, &im.dst_reorder_scratch_md, s + im.off_rd}}));
  return {};
}

}  // namespace seer::kernels
