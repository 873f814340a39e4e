#include "engine/pack_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/log.h"
#include "engine/kernels/kernel_types.h"

namespace seer::engine {
namespace {

// File layout: magic, u64 file bytes, u64 meta bytes, meta (identity, entry index), then every
// blob at a page-aligned offset so each can be mapped on its own.
constexpr char kMagic[8] = {'S', 'E', 'E', 'R', 'P', 'A', 'K', '1'};
constexpr uint64_t kHeaderBytes = 24;
constexpr uint64_t kAlign = 4096;
constexpr uint64_t kMaxMetaBytes = 64ull << 20;

uint64_t align_up(uint64_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

uint64_t fnv1a(std::string_view s) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

int64_t mtime_ns(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

// What must not change for a cached blob to be right: the model file, this binary (the packing
// code), oneDNN and the ISA it packs for, and the slot.
std::string identity_of(const std::string& model, const struct stat& mst, const std::string& slot) {
  struct stat est {};
  if (stat("/proc/self/exe", &est) != 0) est = {};
  return fmt::format("seerpack 1\nmodel {} {} {} {}\nseer {} {}\n{}\nslot {}\n", model,
                     static_cast<uint64_t>(mst.st_size), mtime_ns(mst), static_cast<uint64_t>(mst.st_ino),
                     static_cast<uint64_t>(est.st_size), mtime_ns(est), kernels::backend_identity(), slot);
}

// Reads exactly n bytes at offset; false on a short read or error.
bool read_at(int fd, void* dst, uint64_t n, uint64_t offset) {
  auto* p = static_cast<char*>(dst);
  while (n > 0) {
    const ssize_t r = pread(fd, p, n, static_cast<off_t>(offset));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r, n -= static_cast<uint64_t>(r), offset += static_cast<uint64_t>(r);
  }
  return true;
}

bool write_at(int fd, const void* src, uint64_t n, uint64_t offset) {
  const auto* p = static_cast<const char*>(src);
  while (n > 0) {
    const ssize_t w = pwrite(fd, p, std::min<uint64_t>(n, 1ull << 30), static_cast<off_t>(offset));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w, n -= static_cast<uint64_t>(w), offset += static_cast<uint64_t>(w);
  }
  return true;
}

// A bounds-checked cursor over the meta block.
struct Reader {
  const std::string& s;
  size_t at = 0;
  bool ok = true;
  template <typename T>
  T pod() {
    T v{};
    if (at + sizeof(T) > s.size()) return ok = false, v;
    std::memcpy(&v, s.data() + at, sizeof(T));
    at += sizeof(T);
    return v;
  }
  std::string str() {
    const uint32_t n = pod<uint32_t>();
    if (!ok || at + n > s.size()) return ok = false, std::string();
    std::string v = s.substr(at, n);
    at += n;
    return v;
  }
};

template <typename T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof(T));
}
void put_str(std::string& out, std::string_view v) {
  put(out, static_cast<uint32_t>(v.size()));
  out.append(v);
}

}  // namespace

PackCache PackCache::open(const std::string& dir, const std::string& model_path, const std::string& slot) {
  PackCache c;
  std::error_code ec;
  const std::filesystem::path model = std::filesystem::weakly_canonical(model_path, ec);
  struct stat mst {};
  if (dir.empty() || ec || stat(model.c_str(), &mst) != 0) return c;
  c.file_ = (std::filesystem::path(dir) / fmt::format("{:016x}.seerpack", fnv1a(model.string() + '\n' + slot))).string();
  c.identity_ = identity_of(model.string(), mst, slot);

  const int fd = ::open(c.file_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return c;  // first load of this slot
  struct stat st {};
  char header[kHeaderBytes];
  uint64_t file_bytes = 0, meta_bytes = 0;
  std::string meta;
  bool ok = fstat(fd, &st) == 0 && read_at(fd, header, kHeaderBytes, 0) &&
            std::memcmp(header, kMagic, sizeof(kMagic)) == 0;
  if (ok) {
    std::memcpy(&file_bytes, header + 8, 8);
    std::memcpy(&meta_bytes, header + 16, 8);
    ok = file_bytes == static_cast<uint64_t>(st.st_size) && meta_bytes <= kMaxMetaBytes &&
         kHeaderBytes + meta_bytes <= file_bytes;
  }
  if (ok) {
    meta.resize(meta_bytes);
    ok = read_at(fd, meta.data(), meta_bytes, kHeaderBytes);
  }
  ::close(fd);
  Reader r{meta};
  if (ok) ok = r.str() == c.identity_ && r.ok;
  if (!ok) {
    log::info("pack cache {}: stale or unreadable, the weights are packed again", c.file_);
    return c;
  }
  const uint32_t n = r.pod<uint32_t>();
  for (uint32_t i = 0; i < n && r.ok; ++i) {
    std::string key = r.str();
    Entry e;
    e.offset = r.pod<uint64_t>();
    e.bytes = r.pod<uint64_t>();
    if (!r.ok || e.offset % kAlign != 0 || e.offset > file_bytes || e.bytes > file_bytes - e.offset) {
      r.ok = false;
      break;
    }
    c.entries_.emplace(std::move(key), e);
  }
  if (!r.ok) {
    log::warn("pack cache {}: damaged index, ignored", c.file_);
    c.entries_.clear();
  }
  return c;
}

const PackCache::Entry* PackCache::find(const std::string& key, uint64_t bytes) const {
  auto it = entries_.find(key);
  return it == entries_.end() || it->second.bytes != bytes ? nullptr : &it->second;
}

void PackCache::record(const std::string& key, const void* data, uint64_t bytes, bool hit) {
  if (!enabled()) return;
  used_.push_back({key, data, bytes});
  (hit ? hits_ : misses_)++;
}

uint64_t PackCache::save() {
  if (!enabled() || misses_ == 0) return 0;
  const std::filesystem::path target(file_);
  std::error_code ec;
  std::filesystem::create_directories(target.parent_path(), ec);
  std::string tmp = (target.parent_path() / ("." + target.filename().string() + ".XXXXXX")).string();
  const int fd = mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) {
    log::warn("pack cache: cannot create a file in {}: {}", target.parent_path().string(), std::strerror(errno));
    return 0;
  }
  // Blobs of the old file this load did not ask for (another max batch's layouts) are kept.
  std::vector<Used> kept;
  {
    std::unordered_map<std::string, bool> used_keys;
    for (const Used& u : used_) used_keys[u.key] = true;
    for (const auto& [key, e] : entries_)
      if (!used_keys.count(key)) kept.push_back({key, nullptr, e.bytes});
  }
  const int old_fd = kept.empty() ? -1 : ::open(file_.c_str(), O_RDONLY | O_CLOEXEC);
  if (old_fd < 0) kept.clear();
  std::vector<Used> all = used_;
  all.insert(all.end(), kept.begin(), kept.end());
  std::string meta;
  put_str(meta, identity_);
  put(meta, static_cast<uint32_t>(all.size()));
  // Offsets depend on the meta size, which depends on the offsets' width only: fixed u64s.
  uint64_t meta_bytes = meta.size();
  for (const Used& u : all) meta_bytes += 4 + u.key.size() + 16;
  uint64_t offset = align_up(kHeaderBytes + meta_bytes);
  std::vector<uint64_t> offsets;
  for (const Used& u : all) {
    put_str(meta, u.key);
    put(meta, offset);
    put(meta, u.bytes);
    offsets.push_back(offset);
    offset = align_up(offset + u.bytes);
  }
  const uint64_t file_bytes = offset;
  std::string header(kMagic, sizeof(kMagic));
  put(header, file_bytes);
  put(header, static_cast<uint64_t>(meta.size()));
  bool ok = meta.size() == meta_bytes && write_at(fd, header.data(), header.size(), 0) &&
            write_at(fd, meta.data(), meta.size(), kHeaderBytes);
  for (size_t i = 0; i < all.size() && ok; ++i) {
    if (all[i].data) {
      ok = write_at(fd, all[i].data, all[i].bytes, offsets[i]);
      continue;
    }
    // A kept blob: copied from the old file in 1 MiB pieces.
    const uint64_t from = entries_.at(all[i].key).offset;
    std::vector<char> chunk(std::min<uint64_t>(all[i].bytes, 1 << 20));
    for (uint64_t done = 0; done < all[i].bytes && ok; done += chunk.size()) {
      const uint64_t n = std::min<uint64_t>(chunk.size(), all[i].bytes - done);
      ok = read_at(old_fd, chunk.data(), n, from + done) && write_at(fd, chunk.data(), n, offsets[i] + done);
    }
  }
  if (old_fd >= 0) ::close(old_fd);
  ok = ok && ftruncate(fd, static_cast<off_t>(file_bytes)) == 0 && fchmod(fd, 0644) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok || std::rename(tmp.c_str(), file_.c_str()) != 0) {
    log::warn("pack cache: writing {} failed: {}", file_, std::strerror(ok ? errno : err));
    ::unlink(tmp.c_str());
    return 0;
  }
  return file_bytes;
}

}  // namespace seer::engine
