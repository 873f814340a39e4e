// Packed weights kept in a file between loads. The oneDNN-blocked and bf16 copies a load makes
// of a model's weights are written once to <dir>/<slot>.seerpack; a later load of the same
// model maps them from the page cache instead of packing again (ViT-B/16@448 fp32: packing
// writes 360 MB of fresh memory, ~0.7 s here; mapping it is free until the first run reads it).
//
// A file serves one slot — model path + precision + weights mode (+ the fixed input shapes of
// `seer onnx-run`) — and is valid
// only for the same model file (size, mtime, inode), the same seer binary, the same oneDNN
// build and CPU ISA: anything else is a miss and the file is replaced. Entries are looked up by
// the packing key (node, kernel layout, bytes), so a kernel that chooses another layout never
// reads a stale blob; blobs another max batch needed stay in the file when a load adds its own,
// so `seer serve` and `seer tag --batch 4` share one file. Files are written whole under a temporary name and renamed into place:
// a reader never sees a partial file, and a mapping outlives a replacement.
//
//   PackCache cache = PackCache::open(dir, "model.onnx", "fp32 packed batch 8");  // never fails
//   if (const PackCache::Entry* e = cache.find(key, bytes))
//     p = store.map_file(cache.file(), e->offset, bytes);        // a hit: no packing
//   cache.record(key, p, bytes);                                 // every blob the load used
//   cache.save();          // after the load, if anything was packed; logs, never fails the load
//
// Not thread-safe: one load uses one PackCache.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace seer::engine {

class PackCache {
 public:
  struct Entry {
    uint64_t offset = 0;  // in file(), page-aligned
    uint64_t bytes = 0;
  };

  PackCache() = default;  // disabled: finds nothing, saves nothing
  // `slot`: what besides the model file decides the packed bytes (precision, weights mode,
  // plan shapes). An unreadable, stale or damaged file gives an empty (but enabled) cache.
  static PackCache open(const std::string& dir, const std::string& model_path, const std::string& slot);

  bool enabled() const { return !file_.empty(); }
  const std::string& file() const { return file_; }
  const Entry* find(const std::string& key, uint64_t bytes) const;
  // A blob the load holds at `data` (mapped from this cache or freshly packed).
  void record(const std::string& key, const void* data, uint64_t bytes, bool hit);
  int hits() const { return hits_; }
  int misses() const { return misses_; }
  // Writes every recorded blob, and the old file's blobs this load did not use, to a new file
  // when something was packed (a miss); returns the bytes written (0 when nothing needed saving
  // or the write failed: logged as a warning).
  uint64_t save();

 private:
  struct Used {
    std::string key;
    const void* data;
    uint64_t bytes;
  };
  std::string file_, identity_;
  std::unordered_map<std::string, Entry> entries_;
  std::vector<Used> used_;
  int hits_ = 0, misses_ = 0;
};

}  // namespace seer::engine
