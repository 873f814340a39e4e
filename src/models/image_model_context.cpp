#include "models/image_model_context.h"

#include <algorithm>

namespace seer {

engine::LoadOptions engine_load_options(const ImageModelLoadOptions& options, const std::string& owner) {
  engine::LoadOptions lo;
  lo.ledger = options.ledger;
  lo.owner = owner;
  lo.device = options.device;
  lo.max_batch = std::max(1, options.max_batch);
  lo.engine = options.engine;
  lo.reservation = options.reservation;
  return lo;
}

StatusOr<std::unique_ptr<ImageModelContext>> ImageModelContext::create(const engine::Model& model,
                                                                       size_t staging_bytes,
                                                                       MemoryLedger& ledger, DeviceId device,
                                                                       const std::string& owner,
                                                                       Reservation* from) {
  std::unique_ptr<ImageModelContext> ctx(new ImageModelContext());
  SEER_ASSIGN_OR_RETURN(ctx->exec_, model.create_context(from));
  SEER_ASSIGN_OR_RETURN(ctx->staging_, from ? from->allocate(MemoryTag::kStaging, staging_bytes)
                                            : ledger.allocate(device, owner, MemoryTag::kStaging, staging_bytes));
  ctx->outputs_.resize(model.outputs().size());
  return ctx;
}

size_t ImageModelContext::bytes() const {
  return staging_.size() + (exec_ ? exec_->arena_bytes() : 0);
}

}  // namespace seer
