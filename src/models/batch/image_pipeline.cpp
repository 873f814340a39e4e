#include "models/batch/image_pipeline.h"

#include <algorithm>

namespace seer::pipeline_detail {

Plan plan(const PipelineOptions& o, int model_max_batch) {
  Plan p;
  const int max_batch = std::max(1, model_max_batch);
  p.batch = static_cast<size_t>(o.batch > 0 ? std::min(o.batch, max_batch) : max_batch);
  p.threads = o.decode_threads > 0 ? static_cast<size_t>(o.decode_threads)
                                   : std::max(1u, std::thread::hardware_concurrency());
  p.window = std::max(p.batch, o.max_in_flight > 0 ? o.max_in_flight : 2 * p.batch + p.threads);
  return p;
}

std::string default_index_path(const std::filesystem::path& p) {
  std::error_code ec;
  auto abs = std::filesystem::absolute(p, ec);
  return (ec ? p : abs).lexically_normal().string();
}

StatusOr<std::vector<SkipReason>> find_skips(std::span<const WalkedFile> files,
                                             const PipelineOptions& o) {
  std::vector<SkipReason> skip(files.size(), SkipReason::kNone);
  for (size_t i = 0; i < files.size(); ++i) {
    const WalkedFile& f = files[i];
    if (!f.error.ok()) continue;
    if (o.index) {
      SEER_ASSIGN_OR_RETURN(IndexState st, o.index->lookup(o.index_path(f.path), f.size, f.mtime_ns));
      if (st == IndexState::kDone || (st == IndexState::kFailed && !o.retry_failed)) {
        skip[i] = SkipReason::kIndexed;
      }
    } else if (o.sidecar && o.sidecar->mode == SidecarMode::kSkipExisting) {
      std::error_code ec;
      if (std::filesystem::exists(sidecar_path(f.path, o.sidecar->extension), ec)) {
        skip[i] = SkipReason::kSidecarExists;
      }
    }
  }
  return skip;
}

}  // namespace seer::pipeline_detail
