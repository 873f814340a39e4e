#include "engine/weight_store.h"

#include <algorithm>

namespace seer::engine {

StatusOr<void*> WeightStore::allocate(size_t bytes, bool packed) {
  if (bytes == 0) return const_cast<char*>(kEmpty);
  SEER_ASSIGN_OR_RETURN(Buffer b, reservation_ ? reservation_->allocate(MemoryTag::kWeights, bytes)
                                                : ledger_->allocate(device_, owner_, MemoryTag::kWeights, bytes));
  void* p = b.data();
  count(static_cast<int64_t>(bytes));
  buffers_.push_back(std::move(b));
  packed_map_.push_back(packed);
  return p;
}

StatusOr<const void*> WeightStore::map_file(const std::string& path, uint64_t offset,
                                            uint64_t length, bool packed) {
  if (length == 0) return static_cast<const void*>(kEmpty);
  SEER_ASSIGN_OR_RETURN(Buffer b, reservation_ ? reservation_->map_file(MemoryTag::kWeights, path, offset, length)
                                                : ledger_->map_file(device_, owner_, MemoryTag::kWeights, path,
                                                                    offset, length));
  const void* p = b.data();
  count(static_cast<int64_t>(length));
  buffers_.push_back(std::move(b));
  packed_map_.push_back(packed);
  return p;
}

void WeightStore::release_unread(const std::vector<Buffer::ByteRange>& keep,
                                 std::vector<Buffer::ByteRange>* freed) {
  for (size_t i = 0; i < buffers_.size(); ++i) {
    Buffer& b = buffers_[i];
    if (packed_map_[i] || b.empty()) continue;
    if (b.file_mapped()) {
      released(b.release_pages_except(keep));
      continue;
    }
    const auto lo = static_cast<const char*>(b.data()), hi = lo + b.size();
    const bool read = std::any_of(keep.begin(), keep.end(), [&](const Buffer::ByteRange& r) {
      const auto p = static_cast<const char*>(r.first);
      return r.second && p < hi && p + r.second > lo;
    });
    if (read) continue;
    const auto bytes = static_cast<int64_t>(b.counted_bytes());
    if (freed) freed->emplace_back(b.data(), b.size());
    b.reset();
    released(bytes);
  }
}

void WeightStore::drop_source_pages(const void* p, size_t n) {
  for (size_t i = 0; i < buffers_.size(); ++i)
    if (buffers_[i].file_mapped() && !packed_map_[i]) released(static_cast<int64_t>(buffers_[i].drop_pages(p, n)));
}

const void* WeightStore::find_keyed(const std::string& key) const {
  auto it = keyed_.find(key);
  return it == keyed_.end() ? nullptr : it->second;
}

}  // namespace seer::engine
