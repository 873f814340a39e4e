#include "memory/ledger.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/log.h"

namespace seer {

namespace {
constexpr size_t kAlignment = 64;
// Blocks at least this large bypass malloc: glibc's dynamic mmap threshold would otherwise
// keep freed model-sized blocks in the heap, and RSS would not return to baseline.
constexpr size_t kDirectMapThreshold = 1 << 20;

size_t page_size() {
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return page;
}
size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

// Blocks of at least one huge page start on a 2 MiB boundary and ask for transparent huge
// pages: a 360 MB weight or arena block then faults in ~180 times instead of ~92 000 (page
// faults are what a model load spends most of its time on in a VM), and GEMMs walking packed
// weights miss the TLB less. The unaligned head and tail of the over-sized mapping are
// returned at once; a tail shorter than a huge page stays in small pages, so RSS never
// exceeds the page-rounded size. `len` is a multiple of the page size. nullptr if refused.
constexpr size_t kHugePage = 2u << 20;
void* map_anonymous(size_t len) {
  if (len < kHugePage) {
    void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? nullptr : p;
  }
  const size_t padded = len + kHugePage;
  void* raw = mmap(nullptr, padded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const uintptr_t base = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = round_up(base, kHugePage);
  if (aligned > base) munmap(raw, aligned - base);
  const size_t tail = base + padded - (aligned + len);
  if (tail) munmap(reinterpret_cast<void*>(aligned + len), tail);
  madvise(reinterpret_cast<void*>(aligned), len, MADV_HUGEPAGE);
  return reinterpret_cast<void*>(aligned);
}
}  // namespace

std::string_view to_string(MemoryTag tag) {
  switch (tag) {
    case MemoryTag::kWeights: return "weights";
    case MemoryTag::kArena: return "arena";
    case MemoryTag::kStaging: return "staging";
    case MemoryTag::kDecode: return "decode";
    case MemoryTag::kQueue: return "queue";
    case MemoryTag::kOther: return "other";
  }
  return "?";
}

std::string format_bytes(uint64_t bytes) {
  constexpr double kKiB = 1024.0, kMiB = kKiB * 1024, kGiB = kMiB * 1024;
  const double b = static_cast<double>(bytes);
  if (b >= kGiB) return fmt::format("{:.2f} GiB", b / kGiB);
  if (b >= kMiB) return fmt::format("{:.1f} MiB", b / kMiB);
  if (b >= kKiB) return fmt::format("{:.1f} KiB", b / kKiB);
  return fmt::format("{} B", bytes);
}

// ---- Buffer ------------------------------------------------------------------------------

Buffer& Buffer::operator=(Buffer&& other) noexcept {
  if (this == &other) return *this;
  reset();
  ledger_ = std::exchange(other.ledger_, nullptr);
  data_ = std::exchange(other.data_, nullptr);
  size_ = std::exchange(other.size_, 0);
  counted_ = std::exchange(other.counted_, 0);
  dropped_ = std::move(other.dropped_);
  other.dropped_.clear();
  map_base_ = std::exchange(other.map_base_, nullptr);
  map_length_ = std::exchange(other.map_length_, 0);
  origin_ = std::exchange(other.origin_, Origin::kNone);
  device_ = other.device_;
  tag_ = other.tag_;
  owner_ = std::move(other.owner_);
  return *this;
}

void Buffer::reset() {
  if (origin_ == Origin::kNone) return;
  switch (origin_) {
    case Origin::kAligned: std::free(data_); break;
    case Origin::kAnonMap:
    case Origin::kFileMap: munmap(map_base_, map_length_); break;
    case Origin::kNone: break;
  }
  if (ledger_) ledger_->on_free(*this);
  ledger_ = nullptr;
  data_ = map_base_ = nullptr;
  size_ = counted_ = map_length_ = 0;
  dropped_.clear();
  origin_ = Origin::kNone;
}

uint64_t Buffer::page_bytes(uintptr_t q) const {
  const uintptr_t lo = reinterpret_cast<uintptr_t>(data_), hi = lo + size_;
  return std::min<uintptr_t>(q + page_size(), hi) - std::max(q, lo);
}

std::vector<bool>& Buffer::dropped_pages() {
  if (dropped_.empty()) dropped_.assign(map_length_ / page_size() + 1, false);
  return dropped_;
}

uint64_t Buffer::drop_pages(const void* p, size_t n) {
  if (origin_ != Origin::kFileMap || n == 0) return 0;
  const size_t page = page_size();
  const uintptr_t base = reinterpret_cast<uintptr_t>(map_base_);
  const uintptr_t lo = reinterpret_cast<uintptr_t>(data_), hi = lo + size_;
  const uintptr_t a = std::max(reinterpret_cast<uintptr_t>(p), lo);
  const uintptr_t b = std::min(reinterpret_cast<uintptr_t>(p) + n, hi);
  if (b <= a) return 0;
  // Whole pages only; the buffer's own partial first and last pages are whole for this purpose.
  const uintptr_t first = a == lo ? a / page * page : round_up(a, page);
  const uintptr_t last = b == hi ? round_up(b, page) : b / page * page;
  if (last <= first) return 0;
  std::vector<bool>& dropped = dropped_pages();
  uint64_t bytes = 0;
  for (uintptr_t q = first; q < last; q += page) {
    const size_t i = (q - base) / page;
    if (dropped[i]) continue;
    dropped[i] = true;
    bytes += page_bytes(q);
  }
  madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
  counted_ -= bytes;
  if (bytes && ledger_) ledger_->on_recount(*this, -static_cast<int64_t>(bytes));
  return bytes;
}

int64_t Buffer::release_pages_except(const std::vector<ByteRange>& keep) {
  if (origin_ != Origin::kFileMap || size_ == 0) return 0;
  const size_t page = page_size();
  const uintptr_t base = reinterpret_cast<uintptr_t>(map_base_);
  const uintptr_t lo = reinterpret_cast<uintptr_t>(data_), hi = lo + size_;
  const size_t pages = (round_up(hi, page) - base) / page;
  std::vector<bool> kept(pages, false);
  for (const auto& [p, n] : keep) {
    const uintptr_t a = std::max(reinterpret_cast<uintptr_t>(p), lo);
    const uintptr_t b = std::min(reinterpret_cast<uintptr_t>(p) + n, hi);
    for (uintptr_t q = a / page * page; q < b; q += page) kept[(q - base) / page] = true;
  }
  std::vector<bool>& dropped = dropped_pages();
  int64_t released = 0;  // net: pages dropped now less pages counted again
  size_t run = pages;    // first page of the run of pages being dropped now
  auto flush = [&](size_t end) {
    if (run < end) madvise(reinterpret_cast<void*>(base + run * page), (end - run) * page, MADV_DONTNEED);
    run = pages;
  };
  for (size_t i = 0; i < pages; ++i) {
    if (kept[i] == !dropped[i]) {  // kept and counted, or dropped and not kept: as it should be
      flush(i);
      continue;
    }
    const auto bytes = static_cast<int64_t>(page_bytes(base + i * page));
    if (kept[i]) {
      released -= bytes;
      flush(i);
    } else {
      released += bytes;
      if (run == pages) run = i;
    }
    dropped[i] = !kept[i];
  }
  flush(pages);
  counted_ = static_cast<size_t>(static_cast<int64_t>(counted_) - released);
  if (released && ledger_) ledger_->on_recount(*this, -released);
  return released;
}

// ---- Reservation -------------------------------------------------------------------------

Reservation& Reservation::operator=(Reservation&& other) noexcept {
  if (this == &other) return *this;
  release();
  ledger_ = std::exchange(other.ledger_, nullptr);
  device_ = other.device_;
  owner_ = std::move(other.owner_);
  remaining_ = std::exchange(other.remaining_, 0);
  return *this;
}

StatusOr<Buffer> Reservation::allocate(MemoryTag tag, size_t bytes) {
  if (!ledger_) return Status::internal("allocate from an empty reservation");
  return ledger_->make_buffer(device_, owner_, tag, bytes, this);
}

StatusOr<Buffer> Reservation::map_file(MemoryTag tag, const std::string& path, uint64_t offset,
                                       uint64_t length) {
  if (!ledger_) return Status::internal("map_file from an empty reservation");
  return ledger_->make_mapping(device_, owner_, tag, path, offset, length, this);
}

void Reservation::refund(int64_t bytes) {
  if (ledger_ && bytes) ledger_->on_refund(*this, bytes);
}

void Reservation::release() {
  if (ledger_) ledger_->on_release(*this);
  ledger_ = nullptr;
  remaining_ = 0;
}

// ---- MemoryLedger ------------------------------------------------------------------------

uint64_t MemoryLedger::DeviceUsage::available_bytes() const {
  const uint64_t committed = used_bytes + reserved_bytes;
  return committed >= budget_bytes ? 0 : budget_bytes - committed;
}

MemoryLedger::MemoryLedger() { add_device(Device::cpu()); }

MemoryLedger::~MemoryLedger() {
  for (const auto& [id, d] : devices_) {
    if (d.live_buffers != 0 || d.live_reservations != 0) {
      // A programmer error: something outlived the ledger that accounts for it.
      log::error("MemoryLedger destroyed with {} buffers and {} reservations alive on {}",
                 d.live_buffers, d.live_reservations, id.to_string());
      assert(false && "MemoryLedger outlived by its buffers");
    }
  }
}

void MemoryLedger::add_device(const Device& device, uint64_t budget_bytes) {
  std::lock_guard lock(mu_);
  DeviceState& d = devices_[device.id];
  d.device = device;
  d.budget = budget_bytes ? budget_bytes : device.capacity_bytes;
}

Status MemoryLedger::set_budget(DeviceId device, uint64_t budget_bytes) {
  std::lock_guard lock(mu_);
  SEER_ASSIGN_OR_RETURN(DeviceState * d, find_locked(device));
  d->budget = budget_bytes;
  return {};
}

StatusOr<MemoryLedger::DeviceState*> MemoryLedger::find_locked(DeviceId device) {
  auto it = devices_.find(device);
  if (it == devices_.end()) return Status::not_found("unknown device {}", device.to_string());
  return &it->second;
}

Status MemoryLedger::check_budget_locked(const DeviceState& d, uint64_t bytes, std::string_view owner,
                                         std::string_view what) const {
  if (d.used + d.reserved + bytes <= d.budget) return {};
  const uint64_t committed = d.used + d.reserved;
  return Status::resource_exhausted(
      "{} of {} for '{}' does not fit the {} budget of {}: {} in use, {} reserved, {} free",
      what, format_bytes(bytes), owner, d.device.id.to_string(), format_bytes(d.budget),
      format_bytes(d.used), format_bytes(d.reserved),
      format_bytes(committed >= d.budget ? 0 : d.budget - committed));
}

void MemoryLedger::count_locked(DeviceState& d, const Key& key, uint64_t bytes) {
  d.used += bytes;
  d.peak = std::max(d.peak, d.used + d.reserved);
  d.live_buffers++;
  Count& c = counts_[key];
  c.bytes += bytes;
  c.buffers++;
}

StatusOr<Buffer> MemoryLedger::make_buffer(DeviceId device, std::string_view owner, MemoryTag tag,
                                           size_t bytes, Reservation* from) {
  if (bytes == 0) return Buffer();
  Key key{device, std::string(owner), tag};
  {
    std::lock_guard lock(mu_);
    SEER_ASSIGN_OR_RETURN(DeviceState * d, find_locked(device));
    if (from) {
      if (bytes > from->remaining_) {
        return Status::resource_exhausted(
            "allocation of {} ({}) for '{}' exceeds its reservation's remaining {}: the load plan "
            "undercounted", format_bytes(bytes), to_string(tag), owner, format_bytes(from->remaining_));
      }
      from->remaining_ -= bytes;
      d->reserved -= bytes;
    } else {
      SEER_RETURN_IF_ERROR(check_budget_locked(*d, bytes, owner, fmt::format("allocation ({})", to_string(tag))));
    }
    count_locked(*d, key, bytes);
  }

  Buffer b;
  b.size_ = b.counted_ = bytes;
  b.device_ = device;
  b.tag_ = tag;
  b.owner_ = std::get<1>(key);
  if (bytes >= kDirectMapThreshold) {
    const size_t len = round_up(bytes, page_size());
    void* p = map_anonymous(len);
    if (p) {
      b.data_ = b.map_base_ = p;
      b.map_length_ = len;
      b.origin_ = Buffer::Origin::kAnonMap;
    }
  } else {
    b.data_ = std::aligned_alloc(kAlignment, round_up(bytes, kAlignment));
    if (b.data_) b.origin_ = Buffer::Origin::kAligned;
  }
  if (!b.data_) {
    // The OS refused although the budget allowed it: un-count and report.
    b.ledger_ = this;
    b.origin_ = Buffer::Origin::kAligned;  // so on_free runs; free(nullptr) is a no-op
    b.reset();
    return Status::resource_exhausted("the OS refused {} for '{}' ({})", format_bytes(bytes), owner,
                                      to_string(tag));
  }
  b.ledger_ = this;
  return b;
}

StatusOr<Buffer> MemoryLedger::make_mapping(DeviceId device, std::string_view owner, MemoryTag tag,
                                            const std::string& path, uint64_t offset, uint64_t length,
                                            Reservation* from) {
  if (length == 0) return Buffer();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::not_found("cannot open '{}': {}", path, std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || offset + length > static_cast<uint64_t>(st.st_size)) {
    ::close(fd);
    return Status::invalid_argument("'{}': region [{}, {}) is beyond the file's {} bytes", path,
                                    offset, offset + length, static_cast<uint64_t>(st.st_size));
  }
  const uint64_t aligned_offset = offset / page_size() * page_size();
  const size_t map_len = static_cast<size_t>(length + (offset - aligned_offset));
  void* p = mmap(nullptr, map_len, PROT_READ, MAP_PRIVATE, fd, static_cast<off_t>(aligned_offset));
  ::close(fd);
  if (p == MAP_FAILED) return Status::internal("mmap '{}' failed: {}", path, std::strerror(errno));

  Key key{device, std::string(owner), tag};
  {
    std::lock_guard lock(mu_);
    Status s;
    auto found = find_locked(device);
    if (!found.ok()) {
      s = found.status();
    } else if (from) {
      if (length > from->remaining_) {
        s = Status::resource_exhausted("mapping {} of '{}' exceeds the reservation's remaining {}",
                                       format_bytes(length), path, format_bytes(from->remaining_));
      } else {
        from->remaining_ -= length;
        (*found)->reserved -= length;
      }
    } else {
      s = check_budget_locked(**found, length, owner, "file mapping");
    }
    if (!s.ok()) {
      munmap(p, map_len);
      return s;
    }
    count_locked(**found, key, length);
  }
  Buffer b;
  b.ledger_ = this;
  b.map_base_ = p;
  b.map_length_ = map_len;
  b.data_ = static_cast<char*>(p) + (offset - aligned_offset);
  b.size_ = b.counted_ = static_cast<size_t>(length);
  b.origin_ = Buffer::Origin::kFileMap;
  b.device_ = device;
  b.tag_ = tag;
  b.owner_ = std::get<1>(key);
  return b;
}

StatusOr<Buffer> MemoryLedger::allocate(DeviceId device, std::string_view owner, MemoryTag tag,
                                        size_t bytes) {
  return make_buffer(device, owner, tag, bytes, nullptr);
}

StatusOr<Buffer> MemoryLedger::map_file(DeviceId device, std::string_view owner, MemoryTag tag,
                                        const std::string& path, uint64_t offset, uint64_t length) {
  return make_mapping(device, owner, tag, path, offset, length, nullptr);
}

StatusOr<Reservation> MemoryLedger::reserve(DeviceId device, std::string_view owner, uint64_t bytes) {
  std::lock_guard lock(mu_);
  SEER_ASSIGN_OR_RETURN(DeviceState * d, find_locked(device));
  SEER_RETURN_IF_ERROR(check_budget_locked(*d, bytes, owner, "reservation"));
  d->reserved += bytes;
  d->peak = std::max(d->peak, d->used + d->reserved);
  d->live_reservations++;
  Reservation r;
  r.ledger_ = this;
  r.device_ = device;
  r.owner_ = std::string(owner);
  r.remaining_ = bytes;
  return r;
}

void MemoryLedger::on_free(const Buffer& buffer) {
  std::lock_guard lock(mu_);
  DeviceState& d = devices_.at(buffer.device_);
  d.used -= buffer.counted_;
  d.live_buffers--;
  auto it = counts_.find(Key{buffer.device_, buffer.owner_, buffer.tag_});
  assert(it != counts_.end() && it->second.bytes >= buffer.counted_);
  it->second.bytes -= buffer.counted_;
  if (--it->second.buffers == 0) counts_.erase(it);
}

void MemoryLedger::on_recount(const Buffer& buffer, int64_t delta) {
  std::lock_guard lock(mu_);
  DeviceState& d = devices_.at(buffer.device_);
  d.used = static_cast<uint64_t>(static_cast<int64_t>(d.used) + delta);
  auto it = counts_.find(Key{buffer.device_, buffer.owner_, buffer.tag_});
  assert(it != counts_.end() && static_cast<int64_t>(it->second.bytes) + delta >= 0);
  it->second.bytes = static_cast<uint64_t>(static_cast<int64_t>(it->second.bytes) + delta);
}

void MemoryLedger::on_refund(Reservation& reservation, int64_t bytes) {
  std::lock_guard lock(mu_);
  DeviceState& d = devices_.at(reservation.device_);
  // A draw back takes what remains; past it, re-counted pages stand beyond the reservation
  // (they were this load's bytes before, and they are resident).
  const int64_t delta = std::max(bytes, -static_cast<int64_t>(reservation.remaining_));
  reservation.remaining_ = static_cast<uint64_t>(static_cast<int64_t>(reservation.remaining_) + delta);
  d.reserved = static_cast<uint64_t>(static_cast<int64_t>(d.reserved) + delta);
}

void MemoryLedger::on_release(Reservation& reservation) {
  std::lock_guard lock(mu_);
  DeviceState& d = devices_.at(reservation.device_);
  d.reserved -= reservation.remaining_;
  d.live_reservations--;
}

uint64_t MemoryLedger::total_bytes() const {
  std::lock_guard lock(mu_);
  uint64_t total = 0;
  for (const auto& [id, d] : devices_) total += d.used;
  return total;
}

uint64_t MemoryLedger::used_bytes(DeviceId device) const {
  std::lock_guard lock(mu_);
  auto it = devices_.find(device);
  return it == devices_.end() ? 0 : it->second.used;
}

uint64_t MemoryLedger::reserved_bytes(DeviceId device) const {
  std::lock_guard lock(mu_);
  auto it = devices_.find(device);
  return it == devices_.end() ? 0 : it->second.reserved;
}

uint64_t MemoryLedger::owner_bytes(std::string_view owner) const {
  std::lock_guard lock(mu_);
  uint64_t total = 0;
  for (const auto& [key, c] : counts_) {
    if (std::get<1>(key) == owner) total += c.bytes;
  }
  return total;
}

uint64_t MemoryLedger::bytes(DeviceId device, std::string_view owner, MemoryTag tag) const {
  std::lock_guard lock(mu_);
  auto it = counts_.find(Key{device, std::string(owner), tag});
  return it == counts_.end() ? 0 : it->second.bytes;
}

StatusOr<MemoryLedger::DeviceUsage> MemoryLedger::device_usage(DeviceId device) const {
  std::lock_guard lock(mu_);
  auto it = devices_.find(device);
  if (it == devices_.end()) return Status::not_found("unknown device {}", device.to_string());
  const DeviceState& d = it->second;
  return DeviceUsage{d.device, d.budget, d.used, d.reserved, d.peak};
}

std::vector<MemoryLedger::DeviceUsage> MemoryLedger::devices() const {
  std::lock_guard lock(mu_);
  std::vector<DeviceUsage> out;
  for (const auto& [id, d] : devices_) out.push_back({d.device, d.budget, d.used, d.reserved, d.peak});
  return out;
}

std::vector<MemoryLedger::Entry> MemoryLedger::entries() const {
  std::lock_guard lock(mu_);
  std::vector<Entry> out;
  for (const auto& [key, c] : counts_) {
    if (c.bytes == 0 && c.buffers == 0) continue;
    out.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key), c.bytes, c.buffers});
  }
  return out;
}

}  // namespace seer
