#include "engine/kernels/dnnl_layout.h"

#include <fmt/format.h>

namespace seer::kernels {

std::string layout_key(const dnnl::memory::desc& md) {
  const dnnl_memory_desc_t& d = md.data;
  std::string key = fmt::format("t{}k{}:", static_cast<int>(d.data_type), static_cast<int>(d.format_kind));
  for (int i = 0; i < d.ndims; ++i) key += fmt::format("{}/{}/{},", d.dims[i], d.padded_dims[i], d.format_desc.blocking.strides[i]);
  const auto& b = d.format_desc.blocking;
  for (int i = 0; i < b.inner_nblks; ++i) key += fmt::format("b{}x{}", b.inner_idxs[i], b.inner_blks[i]);
  key += fmt::format("e{}:{}", static_cast<int>(d.extra.flags), d.extra.compensation_mask);
  return key;
}

}  // namespace seer::kernels
