// A stable text key for a oneDNN memory layout (dims, type, blocking), used to decide whether
// two kernels can share one packed weight blob. Internal to src/engine/kernels/.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <string>

namespace seer::kernels {

std::string layout_key(const dnnl::memory::desc& md);

}  // namespace seer::kernels
