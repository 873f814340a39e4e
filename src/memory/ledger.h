// The memory ledger: every byte seer holds, by device × owner × tag, with per-device budgets.
//
//   MemoryLedger ledger;                                   // knows the CPU, budget = MemTotal
//   ledger.set_budget(DeviceId{}, 12ull << 30);
//   SEER_ASSIGN_OR_RETURN(Reservation r, ledger.reserve(DeviceId{}, "wd14", planned_bytes));
//   SEER_ASSIGN_OR_RETURN(Buffer w, r.allocate(MemoryTag::kWeights, weight_bytes));
//   SEER_ASSIGN_OR_RETURN(Buffer a, r.allocate(MemoryTag::kArena, arena_bytes));
//   // r's unused remainder returns to the budget when r is destroyed.
//
// Buffers are created only here; their constructor and destructor move the counters, so the
// ledger cannot drift from what is allocated. Budget rule per device:
//   used + reserved <= budget
// where `used` counts live buffers and `reserved` the unspent part of live reservations. A
// request that would break it fails with ResourceExhausted naming every number.
//
// Thread-safe. The ledger must outlive every Buffer and Reservation it made (checked in debug).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "core/status.h"
#include "memory/device.h"

namespace seer {

enum class MemoryTag : uint8_t { kWeights, kArena, kStaging, kDecode, kQueue, kOther };
inline constexpr MemoryTag kAllMemoryTags[] = {MemoryTag::kWeights, MemoryTag::kArena,
                                               MemoryTag::kStaging, MemoryTag::kDecode,
                                               MemoryTag::kQueue,   MemoryTag::kOther};
std::string_view to_string(MemoryTag tag);  // "weights", "arena", ...

// "1.5 GiB", "12.0 MiB", "512 B": for messages and logs.
std::string format_bytes(uint64_t bytes);

class MemoryLedger;
class Reservation;

// Bytes on a device, owned: 64-byte aligned host memory, or a read-only mmap'd file region.
// Move-only; frees and un-counts itself on destruction or reset().
class Buffer {
 public:
  Buffer() = default;
  ~Buffer() { reset(); }
  Buffer(Buffer&& other) noexcept { *this = std::move(other); }
  Buffer& operator=(Buffer&& other) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  void* data() { return data_; }
  const void* data() const { return data_; }
  template <typename T> T* as() { return static_cast<T*>(data_); }
  template <typename T> const T* as() const { return static_cast<const T*>(data_); }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Bytes this buffer counts in the ledger: size(), less the pages drop_pages() and
  // release_pages_except() released.
  size_t counted_bytes() const { return counted_; }
  bool file_mapped() const { return origin_ == Origin::kFileMap; }
  DeviceId device() const { return device_; }
  const std::string& owner() const { return owner_; }
  MemoryTag tag() const { return tag_; }

  void reset();

  // Pages of a file mapping leave this process (MADV_DONTNEED: the page cache keeps them, a read
  // would fault them back in from there) and the ledger: for a model file whose weights were
  // packed into other buffers at load. Both are no-ops (0) for other buffers. A load that drew
  // the buffer from a Reservation hands the returned bytes to Reservation::refund.
  //
  // drop_pages: the pages that lie wholly inside [p, p + n) (a weight just packed). Returns the
  // bytes un-counted (pages already dropped count once).
  uint64_t drop_pages(const void* p, size_t n);
  // release_pages_except: every page that no `keep` range touches is dropped, and a dropped page
  // that one touches is counted again (a run will read it). Returns bytes un-counted minus bytes
  // re-counted.
  using ByteRange = std::pair<const void*, size_t>;
  int64_t release_pages_except(const std::vector<ByteRange>& keep);

 private:
  friend class MemoryLedger;
  enum class Origin : uint8_t { kNone, kAligned, kAnonMap, kFileMap };
  MemoryLedger* ledger_ = nullptr;
  void* data_ = nullptr;
  size_t size_ = 0;       // bytes visible to the user
  size_t counted_ = 0;    // bytes counted in the ledger (size_ until pages are released)
  std::vector<bool> dropped_;  // file mappings: per page from map_base_, released and un-counted
  // Bytes of the mapping's page at `q` inside [data_, data_ + size_); sizes dropped_ on first use.
  uint64_t page_bytes(uintptr_t q) const;
  std::vector<bool>& dropped_pages();
  void* map_base_ = nullptr;
  size_t map_length_ = 0;  // what munmap needs (page-rounded)
  Origin origin_ = Origin::kNone;
  DeviceId device_;
  MemoryTag tag_ = MemoryTag::kOther;
  std::string owner_;
};

// A promise of budget made before allocating. Move-only; allocations drawn from it do not
// count twice; its unspent bytes return to the budget on destruction or release().
class Reservation {
 public:
  Reservation() = default;
  ~Reservation() { release(); }
  Reservation(Reservation&& other) noexcept { *this = std::move(other); }
  Reservation& operator=(Reservation&& other) noexcept;
  Reservation(const Reservation&) = delete;
  Reservation& operator=(const Reservation&) = delete;

  uint64_t remaining() const { return remaining_; }
  DeviceId device() const { return device_; }
  const std::string& owner() const { return owner_; }

  // Allocates from the reserved bytes (the owner is the reservation's). ResourceExhausted
  // when `bytes` exceeds what remains: the plan was wrong, which the message says.
  StatusOr<Buffer> allocate(MemoryTag tag, size_t bytes);
  // Maps [offset, offset + length) of a file read-only, drawn from the reservation.
  StatusOr<Buffer> map_file(MemoryTag tag, const std::string& path, uint64_t offset, uint64_t length);
  // bytes > 0: the caller freed (or un-counted pages of) buffers drawn from this reservation worth
  // at least that much: they return to it, not to the budget, for the rest of the load.
  // bytes < 0: pages it un-counted before are counted again: drawn back from what remains.
  void refund(int64_t bytes);
  void release();

 private:
  friend class MemoryLedger;
  MemoryLedger* ledger_ = nullptr;
  DeviceId device_;
  std::string owner_;
  uint64_t remaining_ = 0;
};

class MemoryLedger {
 public:
  // Registers the CPU with a budget equal to its capacity.
  MemoryLedger();
  ~MemoryLedger();
  MemoryLedger(const MemoryLedger&) = delete;
  MemoryLedger& operator=(const MemoryLedger&) = delete;

  // Adds a device (replacing a known one's description); budget 0 means "its capacity".
  void add_device(const Device& device, uint64_t budget_bytes = 0);
  Status set_budget(DeviceId device, uint64_t budget_bytes);

  // Allocates `bytes` (64-byte aligned; large blocks come straight from mmap so that freeing
  // returns them to the OS). Zero bytes gives an empty Buffer. Fails over budget.
  StatusOr<Buffer> allocate(DeviceId device, std::string_view owner, MemoryTag tag, size_t bytes);
  // Maps a file region read-only (for weights read in place). Counts `length` bytes.
  StatusOr<Buffer> map_file(DeviceId device, std::string_view owner, MemoryTag tag,
                            const std::string& path, uint64_t offset, uint64_t length);
  // Reserves budget for a later load. Fails with ResourceExhausted if it does not fit.
  StatusOr<Reservation> reserve(DeviceId device, std::string_view owner, uint64_t bytes);

  struct DeviceUsage {
    Device device;
    uint64_t budget_bytes = 0;
    uint64_t used_bytes = 0;      // live buffers
    uint64_t reserved_bytes = 0;  // unspent reservations
    uint64_t peak_bytes = 0;      // max of used + reserved seen
    uint64_t available_bytes() const;
  };
  struct Entry {
    DeviceId device;
    std::string owner;
    MemoryTag tag;
    uint64_t bytes = 0;
    uint64_t buffers = 0;
  };

  uint64_t total_bytes() const;  // used bytes, all devices
  uint64_t used_bytes(DeviceId device) const;
  uint64_t reserved_bytes(DeviceId device) const;
  uint64_t owner_bytes(std::string_view owner) const;  // all devices and tags
  uint64_t bytes(DeviceId device, std::string_view owner, MemoryTag tag) const;
  StatusOr<DeviceUsage> device_usage(DeviceId device) const;
  std::vector<DeviceUsage> devices() const;
  std::vector<Entry> entries() const;  // non-zero entries, sorted by device, owner, tag

 private:
  friend class Buffer;
  friend class Reservation;
  struct DeviceState {
    Device device;
    uint64_t budget = 0, used = 0, reserved = 0, peak = 0;
    uint64_t live_buffers = 0, live_reservations = 0;
  };
  using Key = std::tuple<DeviceId, std::string, MemoryTag>;
  struct Count {
    uint64_t bytes = 0, buffers = 0;
  };

  // Callers hold mu_.
  StatusOr<DeviceState*> find_locked(DeviceId device);
  Status check_budget_locked(const DeviceState& d, uint64_t bytes, std::string_view owner,
                             std::string_view what) const;
  void count_locked(DeviceState& d, const Key& key, uint64_t bytes);

  // Counters move only through these two (the Buffer's constructor and destructor paths).
  StatusOr<Buffer> make_buffer(DeviceId device, std::string_view owner, MemoryTag tag, size_t bytes,
                               Reservation* from);
  StatusOr<Buffer> make_mapping(DeviceId device, std::string_view owner, MemoryTag tag,
                                const std::string& path, uint64_t offset, uint64_t length,
                                Reservation* from);
  void on_free(const Buffer& buffer);
  // Pages of a live buffer leave (delta < 0) or come back into the count; the peak does not move
  // (they were counted when the buffer was made).
  void on_recount(const Buffer& buffer, int64_t delta);
  void on_release(Reservation& reservation);
  void on_refund(Reservation& reservation, int64_t bytes);

  mutable std::mutex mu_;
  std::map<DeviceId, DeviceState> devices_;
  std::map<Key, Count> counts_;
};

}  // namespace seer
