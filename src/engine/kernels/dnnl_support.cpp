#include "engine/kernels/dnnl_support.h"

#include <array>

#include <fmt/format.h>

#include "engine/no_alloc.h"

namespace seer::kernels {

std::string_view to_string(Precision p) { return p == Precision::kBF16 ? "bf16" : "fp32"; }

std::string_view to_string(Activation::Kind k) {
  switch (k) {
    case Activation::Kind::kNone: return "none";
    case Activation::Kind::kRelu: return "relu";
    case Activation::Kind::kGeluErf: return "gelu_erf";
    case Activation::Kind::kGeluTanh: return "gelu_tanh";
    case Activation::Kind::kClip: return "clip";
    case Activation::Kind::kSigmoid: return "sigmoid";
    case Activation::Kind::kHardSwish: return "hard_swish";
  }
  return "?";
}

dnnl::engine& cpu_engine() {
  static dnnl::engine* engine = new dnnl::engine(dnnl::engine::kind::cpu, 0);  // never freed:
  // primitives may outlive static destruction order.
  return *engine;
}

std::string backend_identity() {
  const dnnl_version_t* v = dnnl_version();
  return fmt::format("oneDNN {}.{}.{} {} isa {:#x}", v->major, v->minor, v->patch, v->hash,
                     static_cast<unsigned>(dnnl_get_effective_cpu_isa()));
}

dnnl::stream& thread_stream() {
  thread_local dnnl::stream stream(cpu_engine());
  return stream;
}

Status execute(const dnnl::primitive& prim, std::initializer_list<ExecArg> args) {
  // A fixed array: nothing of ours allocates here (oneDNN's own bookkeeping still may).
  std::array<dnnl::memory, 12> mems;
  std::array<dnnl_exec_arg_t, 12> raw{};
  if (args.size() > mems.size()) return Status::internal("execute: too many arguments");
  // oneDNN allocates a few small handles per call (dnnl::memory wrappers, its argument map):
  // bounded and freed before returning; the data itself lives in seer's buffers.
  engine::AllowAllocScope allow("oneDNN execute");
  try {
    int n = 0;
    for (const ExecArg& a : args) {
      if (a.data == nullptr || a.desc == nullptr || a.desc->get_size() == 0) continue;
      mems[n] = dnnl::memory(*a.desc, cpu_engine(), const_cast<void*>(a.data));
      raw[n] = {a.arg, mems[n].get()};
      ++n;
    }
    dnnl::stream& s = thread_stream();
    dnnl::error::wrap_c_api(dnnl_primitive_execute(prim.get(), s.get(), n, raw.data()),
                            "could not execute a primitive");
    s.wait();
  } catch (const dnnl::error& e) {
    return Status::internal("oneDNN execute failed: {} ({})", e.what(), static_cast<int>(e.status));
  }
  return {};
}

void append_activation(dnnl::post_ops& ops, const Activation& act) {
  using A = Activation::Kind;
  switch (act.kind) {
    case A::kNone: return;
    case A::kRelu: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f); return;
    case A::kGeluErf: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_gelu_erf, 0.f, 0.f); return;
    case A::kGeluTanh:
      ops.append_eltwise(1.f, dnnl::algorithm::eltwise_gelu_tanh, 0.f, 0.f);
      return;
    case A::kClip:
      ops.append_eltwise(1.f, dnnl::algorithm::eltwise_clip, act.alpha, act.beta);
      return;
    case A::kSigmoid: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_logistic, 0.f, 0.f); return;
    case A::kHardSwish:
      // ONNX HardSwish: x * max(0, min(1, x/6 + 1/2)).
      ops.append_eltwise(1.f, dnnl::algorithm::eltwise_hardswish, 0.f, 0.f);
      return;
  }
}

dnnl::primitive_attr make_attr(const Activation& act) {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (act.active()) {
    dnnl::post_ops ops;
    append_activation(ops, act);
    attr.set_post_ops(ops);
  }
  return attr;
}

dnnl::memory::data_type dnnl_type(Precision p) {
  return p == Precision::kBF16 ? dnnl::memory::data_type::bf16 : dnnl::memory::data_type::f32;
}

}  // namespace seer::kernels
