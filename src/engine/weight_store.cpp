#include "engine/weight_store.h"

namespace seer::engine {

StatusOr<void*> WeightStore::allocate(size_t bytes) {
  if (bytes == 0) return const_cast<char*>(kEmpty);
  SEER_ASSIGN_OR_RETURN(Buffer b, reservation_ ? reservation_->allocate(MemoryTag::kWeights, bytes)
                                                : ledger_->allocate(device_, owner_, MemoryTag::kWeights, bytes));
  void* p = b.data();
  buffers_.push_back(std::move(b));
  return p;
}

StatusOr<const void*> WeightStore::map_file(const std::string& path, uint64_t offset,
                                            uint64_t length) {
  if (length == 0) return static_cast<const void*>(kEmpty);
  SEER_ASSIGN_OR_RETURN(Buffer b, reservation_ ? reservation_->map_file(MemoryTag::kWeights, path, offset, length)
                                                : ledger_->map_file(device_, owner_, MemoryTag::kWeights, path,
                                                                    offset, length));
  const void* p = b.data();
  buffers_.push_back(std::move(b));
  return p;
}

uint64_t WeightStore::bytes() const {
  uint64_t n = unallocated_;
  for (const Buffer& b : buffers_) n += b.size();
  return n;
}

const void* WeightStore::find_keyed(const std::string& key) const {
  auto it = keyed_.find(key);
  return it == keyed_.end() ? nullptr : it->second;
}

}  // namespace seer::engine
