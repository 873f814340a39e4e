// What the single-input image model families (models/tagger/wd14_tagger.h,
// models/classifier/classifier.h) share: their load options, and the per-thread execution state
// that runs a batch of tiles — the engine's arena and a float staging buffer for the batch's
// input tensor, both allocated once.
//
//   ImageModelLoadOptions opt{.ledger = &ledger, .owner = "wd-vit-tagger-v3", .max_batch = 8};
//   SEER_ASSIGN_OR_RETURN(model_, engine::Model::load(path, engine_load_options(opt, owner_)));
//   SEER_ASSIGN_OR_RETURN(auto ctx, ImageModelContext::create(*model_, staging_bytes, *ledger_,
//                                                             device_, owner_, from));
//   write_tensor(tile, spec, ctx->staging() + i * per_image);
//   SEER_RETURN_IF_ERROR(model_->run(ctx->exec(), {&input, 1}, ctx->outputs()));
//
// Ownership: a context owns its arena and staging (ledger tag staging) and must not outlive the
// engine::Model it was made for. Thread-safety: a context is used by one thread at a time.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/model.h"
#include "memory/ledger.h"

namespace seer {

struct ImageModelLoadOptions {
  MemoryLedger* ledger = nullptr;  // required; must outlive the model
  // Ledger owner of weights, arena and staging; empty: the family's name ("tagger", "classifier").
  std::string owner{};
  DeviceId device{};
  int max_batch = 8;
  engine::EngineChoice engine{};  // precision, weights mode, pack cache
  // When set, the weights are drawn from it (the runtime's planned load) instead of the ledger.
  Reservation* reservation = nullptr;
};

// The engine's load options for `options` under ledger owner `owner` (max_batch at least 1).
engine::LoadOptions engine_load_options(const ImageModelLoadOptions& options, const std::string& owner);

class ImageModelContext {
 public:
  // `model`'s execution context and a staging buffer of `staging_bytes`, drawn from `from` when
  // given, else from `ledger` under (device, owner).
  static StatusOr<std::unique_ptr<ImageModelContext>> create(const engine::Model& model,
                                                             size_t staging_bytes, MemoryLedger& ledger,
                                                             DeviceId device, const std::string& owner,
                                                             Reservation* from);

  // Staging plus arena bytes.
  size_t bytes() const;

  engine::ExecutionContext& exec() { return *exec_; }
  float* staging() { return staging_.as<float>(); }
  // One tensor per graph output, overwritten by each run (views into the arena).
  std::vector<engine::Tensor>& outputs() { return outputs_; }

 private:
  ImageModelContext() = default;

  std::unique_ptr<engine::ExecutionContext> exec_;
  Buffer staging_;
  std::vector<engine::Tensor> outputs_;
};

}  // namespace seer
