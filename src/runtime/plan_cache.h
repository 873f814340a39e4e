// The engine's own measurement of a model file per batch size (weights and arena bytes),
// cached. Backends hand it to the manager's plans; it is shared (shared_ptr) with the plans
// handed out, so a plan's arena_bytes_at stays valid after its backend is gone.
//
//   auto plans = std::make_shared<PlanCache>(dir / "model.onnx", "wd14", engine::EngineChoice{});
//   SEER_ASSIGN_OR_RETURN(engine::Model::PlannedBytes at, plans->at(8));   // at.weights, at.arena
//
// Thread-safe.
#pragma once

#include <filesystem>
#include <map>
#include <mutex>
#include <string>

#include "core/status.h"
#include "engine/model.h"

namespace seer {

class PlanCache {
 public:
  PlanCache(std::filesystem::path model_path, std::string owner, engine::EngineChoice choice)
      : model_path_(std::move(model_path)), owner_(std::move(owner)), choice_(choice) {}

  StatusOr<engine::Model::PlannedBytes> at(int batch) {
    std::lock_guard lock(mu_);
    if (auto it = cache_.find(batch); it != cache_.end()) return it->second;
    engine::LoadOptions lo;
    lo.owner = owner_;
    lo.max_batch = batch;
    lo.engine = choice_;  // the plans must be measured with the backend's choice: the bytes differ
    SEER_ASSIGN_OR_RETURN(engine::Model::PlannedBytes b, engine::Model::plan_bytes(model_path_.string(), lo));
    cache_[batch] = b;
    return b;
  }

 private:
  std::filesystem::path model_path_;
  std::string owner_;
  engine::EngineChoice choice_;
  std::mutex mu_;
  std::map<int, engine::Model::PlannedBytes> cache_;
};

}  // namespace seer
