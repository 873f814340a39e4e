// Internal glue between seer's kernels and oneDNN: the CPU engine, a per-thread stream, error
// translation and the execute call. Only kernels include this header.
//
//   SEER_ASSIGN_OR_RETURN(auto pd, kernels::dnnl_call("matmul", [&] { return make_pd(); }));
//   kernels::execute(prim, {{DNNL_ARG_SRC, a}, ...});   // run path, may throw -> Status
//
// oneDNN is built with OpenMP here; its primitives are thread-safe to execute concurrently when
// each call brings its own scratchpad (scratchpad_mode::user), which every seer kernel uses.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <initializer_list>
#include <string_view>
#include <utility>

#include "core/status.h"
#include "engine/kernels/kernel_types.h"

namespace seer::kernels {

// The process-wide CPU engine (created on first use, never destroyed).
dnnl::engine& cpu_engine();
// The calling thread's in-order stream on cpu_engine().
dnnl::stream& thread_stream();

// Runs `fn`, turning a dnnl::error into Status(Unsupported|Internal) with `what` as context.
template <typename Fn>
auto dnnl_call(std::string_view what, Fn&& fn) -> StatusOr<decltype(fn())> {
  try {
    return fn();
  } catch (const dnnl::error& e) {
    if (e.status == dnnl_unimplemented)
      return Status::unsupported("{}: oneDNN has no implementation ({})", what, e.what());
    return Status::internal("{}: oneDNN error {} ({})", what, static_cast<int>(e.status), e.what());
  }
}

struct ExecArg {
  int arg;
  const dnnl::memory::desc* desc;
  const void* data;
};

// Wraps each pointer in a dnnl::memory (user memory, no copy) and executes `prim` on the
// calling thread's stream, waiting for completion.
Status execute(const dnnl::primitive& prim, std::initializer_list<ExecArg> args);

// A primitive attribute with a user-managed scratchpad and the given eltwise epilogue.
dnnl::primitive_attr make_attr(const Activation& act);
void append_activation(dnnl::post_ops& ops, const Activation& act);

dnnl::memory::data_type dnnl_type(Precision p);

}  // namespace seer::kernels
