// Content hashes for the tag index: XXH64 (seed 0) of a file's bytes, as 16 lowercase hex digits.
//
//   Xxh64 h;
//   h.update(chunk1); h.update(chunk2);
//   std::string hex = to_hex64(h.digest());          // "ef46db3751d8e999" for no bytes
//   SEER_ASSIGN_OR_RETURN(uint64_t d, hash_file("photo.jpg"));
//
// Why XXH64: it runs at memory speed (several GB/s per core), so hashing a photo costs far less
// than decoding it, and it is a published, stable algorithm (xxhash 0.8 spec) that other tools
// (`xxhsum -H1`, Python `xxhash.xxh64`) reproduce. It detects changed content, not tampering.
// Implemented here (about 80 lines) because Debian's libxxhash-dev is not in deps; the unit test
// checks it against Debian's libxxhash.so.0 through vectors made by tools/tagger_hash_vectors.py.
//
// Xxh64 is a plain value (not thread-safe); the free functions are thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

#include "core/status.h"

namespace seer {

class Xxh64 {
 public:
  explicit Xxh64(uint64_t seed = 0);
  void update(std::span<const uint8_t> bytes);
  uint64_t digest() const;  // may be called at any time; update() may continue afterwards

 private:
  uint64_t v_[4];
  uint64_t seed_;
  uint64_t total_ = 0;
  uint8_t buf_[32];
  size_t buffered_ = 0;
};

uint64_t xxh64(std::span<const uint8_t> bytes, uint64_t seed = 0);
// Streams the file in 1 MiB chunks. NotFound / Internal with the path on failure.
StatusOr<uint64_t> hash_file(const std::filesystem::path& path);
std::string to_hex64(uint64_t v);

}  // namespace seer
