// The bytes behind a model's constants: the file mapping, copies of typed or misaligned
// initializers, folded constants and packed weights. Every byte is a ledger Buffer (tag weights,
// one owner), so the ledger shows the model's weights exactly.
//
//   WeightStore store(ledger, DeviceId{}, "wd14");
//   SEER_ASSIGN_OR_RETURN(void* p, store.allocate(bytes));     // aligned, owned by the store
//   SEER_ASSIGN_OR_RETURN(const void* m, store.map_file(path, 0, size));
//
// Pointers stay valid as long as the store. Not thread-safe while loading; read-only after.
#pragma once

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "memory/ledger.h"

namespace seer::engine {

class WeightStore {
 public:
  // With `reservation`, every byte is drawn from it (a model load planned in advance); it must
  // stay alive and in place while set (set_reservation(nullptr) once the load is done).
  WeightStore(MemoryLedger& ledger, DeviceId device, std::string owner, Reservation* reservation = nullptr)
      : ledger_(&ledger), device_(device), owner_(std::move(owner)), reservation_(reservation) {}
  void set_reservation(Reservation* reservation) { reservation_ = reservation; }

  // A 64-byte-aligned writable buffer; zero bytes gives a valid non-null pointer. `packed`: a
  // packed weight that kernels hold (never released); otherwise a source (decoded, copied or
  // folded constants) that release_unread() frees when no run reads it.
  StatusOr<void*> allocate(size_t bytes, bool packed = false);
  // Maps a file region read-only: the model's own file (a source of weights) or, `packed`, a
  // file of already packed weights (the pack cache), which release_unread() never touches.
  StatusOr<const void*> map_file(const std::string& path, uint64_t offset, uint64_t length,
                                 bool packed = false);
  uint64_t bytes() const { return bytes_; }  // the buffers' ledger count now (+ add_unallocated)
  uint64_t peak_bytes() const { return peak_; }  // the most bytes() has been (a load's need)
  uint64_t released_bytes() const { return released_; }  // released by the two calls below, net

  // Source bytes a load no longer needs leave the process and the ledger: every page of the
  // model's mapped files that no `keep` range touches (Buffer::release_pages_except; a dropped
  // page that one touches is counted again), and every allocated source buffer that no `keep`
  // range touches (freed; its range is appended to `freed`, whose pointers must no longer be
  // read). Un-counted bytes go back to the reservation if set (released_bytes() adds them up).
  void release_unread(const std::vector<Buffer::ByteRange>& keep, std::vector<Buffer::ByteRange>* freed = nullptr);
  // Drops the pages wholly inside [p, p + n) of a mapped source file now, from the process and
  // the ledger (a weight just packed). No-op when p is not in one.
  void drop_source_pages(const void* p, size_t n);
  MemoryLedger& ledger() { return *ledger_; }
  DeviceId device() const { return device_; }
  const std::string& owner() const { return owner_; }

  // Counts bytes a measuring load (Model::plan_bytes) would have allocated without allocating
  // them; included in bytes().
  void add_unallocated(uint64_t bytes) { count(static_cast<int64_t>(bytes)); }
  // Keyed buffers (packed weights shared by several plans): find or nullptr.
  const void* find_keyed(const std::string& key) const;
  void put_keyed(const std::string& key, const void* p) { keyed_[key] = p; }

 private:
  MemoryLedger* ledger_;
  DeviceId device_;
  std::string owner_;
  Reservation* reservation_ = nullptr;
  std::vector<Buffer> buffers_;
  std::vector<bool> packed_map_;  // per buffer: a mapping of packed weights (not a source)
  std::map<std::string, const void*> keyed_;
  void count(int64_t delta) {
    bytes_ = static_cast<uint64_t>(static_cast<int64_t>(bytes_) + delta);
    peak_ = std::max(peak_, bytes_);
  }
  // Source bytes that left the ledger (negative: came back), kept with the load's reservation.
  void released(int64_t bytes) {
    count(-bytes);
    released_ = static_cast<uint64_t>(static_cast<int64_t>(released_) + bytes);
    if (reservation_) reservation_->refund(bytes);
  }
  uint64_t bytes_ = 0, peak_ = 0, released_ = 0;
  alignas(64) static inline const char kEmpty[64] = {};
};

}  // namespace seer::engine
