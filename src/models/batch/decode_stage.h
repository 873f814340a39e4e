// The decode stage of the batch pipeline (image_pipeline.h): a dispatcher thread hands files to a
// pool of decode workers (read the bytes, XXH64 them when asked, decode + make the model's tile)
// while at most `window` files sit between dispatch and release; the consumer takes them in file
// order.
//
//   DecodeStage stage(files, skip, spec, {.threads = 2, .window = 20, .hash = true}, ledger);
//   for (size_t i = 0; i < files.size(); ++i) {
//     DecodedFile* d = stage.wait(i);          // blocks until file i is decoded (or stop())
//     if (!d) break;
//     ... use d->tile ...
//     stage.release(i + 1);                    // files before i + 1 leave the ring: tiles freed
//   }
//
// Files that failed the walk or that `skip` marks come out without decoding (kFailed with the
// walk's error, or kSkipped with the reason). A file that cannot be read or decoded comes out as
// kFailed with the reason; it never stops the stage.
// Memory bound: `window` tiles + per decode thread one encoded file and the decoder's working set.
// Threads: wait() and release() from one consumer thread; stop() from any thread. The destructor
// stops and joins.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"
#include "core/thread_pool.h"
#include "image/decode_limits.h"
#include "image/preprocess.h"
#include "memory/ledger.h"
#include "models/batch/image_file_walker.h"

namespace seer {

// How an image's run ended.
enum class OutcomeKind {
  kDone,     // the model ran on it (tagged, classified)
  kSkipped,  // already done (index or sidecar)
  kFailed,   // unreadable, not an image, or the model failed on its batch
};
std::string_view to_string(OutcomeKind k);

// Why the stage passes a file through without decoding it.
enum class SkipReason : uint8_t { kNone = 0, kIndexed, kSidecarExists };
std::string_view to_string(SkipReason r);  // "", "indexed", "sidecar exists"

struct DecodedFile {
  size_t file = SIZE_MAX;  // index into the files span
  bool ready = false;
  OutcomeKind kind = OutcomeKind::kDone;  // kDone: `tile` is set
  SkipReason skip = SkipReason::kNone;
  Status error;
  std::optional<uint64_t> hash;  // XXH64 of the bytes, when hashing was asked for
  std::optional<Tile> tile;
};

struct DecodeStageOptions {
  size_t threads = 1;
  size_t window = 8;  // files between dispatch and release
  bool hash = false;
  // Niceness of the decode threads (setpriority on each worker, 0..19): above 0 they yield the
  // cores to inference and run in its gaps (single-threaded ops, waits), so on a small machine
  // decoding steals less from the engine. They still get the cores whenever inference waits for
  // tiles, so a positive value never starves the pipeline.
  int nice = 0;
  LoadOptions load;
  DecodeLimits limits;
};

class DecodeStage {
 public:
  // `files`, `skip` (one entry per file), `spec` and `ledger` must outlive the stage.
  DecodeStage(std::span<const WalkedFile> files, std::span<const SkipReason> skip,
              const PreprocessSpec& spec, DecodeStageOptions options, MemoryLedger& ledger);
  ~DecodeStage();
  DecodeStage(const DecodeStage&) = delete;
  DecodeStage& operator=(const DecodeStage&) = delete;

  // File i (i = the next one not yet waited for) once ready; nullptr after stop(). Valid until
  // release() passes it.
  DecodedFile* wait(size_t i);
  // Files before `next` leave the ring (their tiles are freed); makes room for the dispatcher.
  void release(size_t next);
  size_t released() const { return released_; }
  // Ends the stage early: wait() returns nullptr, the dispatcher stops handing out files.
  void stop();

 private:
  void dispatch();

  std::span<const WalkedFile> files_;
  std::span<const SkipReason> skip_;
  const PreprocessSpec& spec_;
  DecodeStageOptions options_;
  MemoryLedger& ledger_;
  std::vector<DecodedFile> ring_;
  std::mutex mu_;
  std::condition_variable ready_, room_;
  size_t released_ = 0;  // guarded by mu_ for the dispatcher; written by the consumer
  bool stop_ = false;
  std::unique_ptr<ThreadPool> pool_;
  std::thread dispatcher_;
};

// A file's bytes in a ledger buffer (tag decode): the first `size` bytes of `buffer`.
struct FileBytes {
  Buffer buffer;
  size_t size = 0;
  std::span<const uint8_t> span() const { return {buffer.as<uint8_t>(), size}; }
};
// Reads a whole file (as the walk saw it, allowing it to have grown) within limits.
StatusOr<FileBytes> read_file_bytes(const WalkedFile& f, const DecodeLimits& limits, MemoryLedger& ledger,
                                    const std::string& owner);

}  // namespace seer
