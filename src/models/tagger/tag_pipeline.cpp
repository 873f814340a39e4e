#include "models/tagger/tag_pipeline.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "core/thread_pool.h"
#include "models/tagger/content_hash.h"

namespace seer {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// A file between dispatch and inference. Lives in a ring of max_in_flight slots.
struct Slot {
  size_t file = SIZE_MAX;  // which file the slot holds (a ring slot is reused every window files)
  bool ready = false;
  ImageOutcome::Kind kind = ImageOutcome::Kind::kTagged;  // kTagged: `tile` is set
  std::string skip_reason;
  Status error;
  std::optional<uint64_t> hash;
  std::optional<Tile> tile;
};

// What the writer gets per file (the tile is gone by then).
struct OutItem {
  size_t file = 0;
  ImageOutcome::Kind kind = ImageOutcome::Kind::kTagged;
  std::string skip_reason;
  Status error;
  std::optional<uint64_t> hash;
  TagResult result;
};
using OutBatch = std::vector<OutItem>;

// A blocking queue with a capacity, closed by the producer when it is done.
class BatchQueue {
 public:
  explicit BatchQueue(size_t capacity) : capacity_(capacity) {}
  void push(OutBatch b) {
    std::unique_lock lk(mu_);
    room_.wait(lk, [&] { return q_.size() < capacity_; });
    q_.push_back(std::move(b));
    has_.notify_one();
  }
  std::optional<OutBatch> pop() {
    std::unique_lock lk(mu_);
    has_.wait(lk, [&] { return !q_.empty() || closed_; });
    if (q_.empty()) return std::nullopt;
    OutBatch b = std::move(q_.front());
    q_.pop_front();
    room_.notify_one();
    return b;
  }
  void close() {
    std::lock_guard lk(mu_);
    closed_ = true;
    has_.notify_all();
  }

 private:
  size_t capacity_;
  std::mutex mu_;
  std::condition_variable has_, room_;
  std::deque<OutBatch> q_;
  bool closed_ = false;
};

StatusOr<std::vector<uint8_t>> read_bytes(const WalkedFile& f, const DecodeLimits& limits) {
  if (f.size > limits.max_input_bytes) {
    return Status::payload_too_large("{}: {} bytes, over the {} byte input limit", f.path.string(),
                                     f.size, limits.max_input_bytes);
  }
  int fd = ::open(f.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT) return Status::not_found("{}: no such file", f.path.string());
    return Status::internal("{}: {}", f.path.string(), std::strerror(e));
  }
  std::vector<uint8_t> bytes(f.size);
  size_t done = 0;
  while (true) {
    if (done == bytes.size()) bytes.resize(bytes.size() + 65536);  // grew since the walk
    ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return Status::internal("{}: read: {}", f.path.string(), std::strerror(e));
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
    if (done > limits.max_input_bytes) {
      ::close(fd);
      return Status::payload_too_large("{}: over the {} byte input limit", f.path.string(),
                                       limits.max_input_bytes);
    }
  }
  ::close(fd);
  bytes.resize(done);
  return bytes;
}

}  // namespace

std::string_view to_string(ImageOutcome::Kind k) {
  switch (k) {
    case ImageOutcome::Kind::kTagged: return "tagged";
    case ImageOutcome::Kind::kSkipped: return "skipped";
    case ImageOutcome::Kind::kFailed: return "failed";
  }
  return "?";
}

TagPipeline::TagPipeline(TileTagger& tagger, MemoryLedger& ledger, TagPipelineOptions options)
    : tagger_(tagger), ledger_(ledger), options_(std::move(options)) {
  if (!options_.index_path) {
    options_.index_path = [](const std::filesystem::path& p) {
      std::error_code ec;
      auto abs = std::filesystem::absolute(p, ec);
      return (ec ? p : abs).lexically_normal().string();
    };
  }
}

StatusOr<TagRunSummary> TagPipeline::run(std::span<const WalkedFile> files,
                                         const std::function<void(const ImageOutcome&)>& on_outcome) {
  const auto t0 = Clock::now();
  const size_t n = files.size();
  const size_t batch = static_cast<size_t>(options_.batch > 0
                                               ? std::min(options_.batch, tagger_.max_batch())
                                               : tagger_.max_batch());
  const size_t threads = options_.decode_threads > 0
                             ? static_cast<size_t>(options_.decode_threads)
                             : std::max(1u, std::thread::hardware_concurrency());
  const size_t window =
      std::max(batch, options_.max_in_flight > 0 ? options_.max_in_flight : 2 * batch + threads);

  // 1. What is already done (the index connection is the writer's once the run starts).
  std::vector<uint8_t> skip(n, 0);  // 1 indexed, 2 sidecar exists
  for (size_t i = 0; i < n; ++i) {
    const WalkedFile& f = files[i];
    if (!f.error.ok()) continue;
    if (options_.index) {
      SEER_ASSIGN_OR_RETURN(IndexState st, options_.index->lookup(options_.index_path(f.path),
                                                                  f.size, f.mtime_ns));
      if (st == IndexState::kDone || (st == IndexState::kFailed && !options_.retry_failed)) {
        skip[i] = 1;
      }
    } else if (options_.sidecar && options_.sidecar->mode == SidecarMode::kSkipExisting) {
      std::error_code ec;
      if (std::filesystem::exists(sidecar_path(f.path, options_.sidecar->extension), ec)) skip[i] = 2;
    }
  }

  std::vector<Slot> ring(window);
  std::mutex mu;
  std::condition_variable cv_ready, cv_room;
  size_t released = 0;  // files [0, released) have left the ring
  std::atomic<bool> stop{false};
  Status writer_error;
  TagRunSummary summary;
  summary.total = n;

  // 4. Writer: sidecars, the caller's callback, then one index transaction per batch.
  BatchQueue to_writer(2);
  std::thread writer([&] {
    while (auto b = to_writer.pop()) {
      std::vector<IndexRecord> records;
      records.reserve(b->size());
      for (OutItem& item : *b) {
        const WalkedFile& f = files[item.file];
        ImageOutcome o;
        o.file = &f;
        o.kind = item.kind;
        o.skip_reason = item.skip_reason;
        o.error = item.error;
        if (item.kind == ImageOutcome::Kind::kTagged) {
          o.result = &item.result;
          if (options_.sidecar) {
            auto so = write_sidecar(f.path, item.result.text_tags, *options_.sidecar);
            if (so.ok()) {
              o.sidecar = *so;
            } else {
              o.kind = item.kind = ImageOutcome::Kind::kFailed;
              o.error = item.error = so.status();
              o.result = nullptr;
            }
          }
        } else if (item.kind == ImageOutcome::Kind::kSkipped && item.skip_reason == "sidecar exists") {
          o.sidecar = SidecarOutcome::kSkipped;
        }
        switch (o.kind) {
          case ImageOutcome::Kind::kTagged: ++summary.tagged; break;
          case ImageOutcome::Kind::kSkipped: ++summary.skipped; break;
          case ImageOutcome::Kind::kFailed: ++summary.failed; break;
        }
        if (on_outcome) on_outcome(o);
        if (options_.index && f.error.ok() && item.kind != ImageOutcome::Kind::kSkipped) {
          IndexRecord r;
          r.path = options_.index_path(f.path);
          r.size = f.size;
          r.mtime_ns = f.mtime_ns;
          r.content_hash = item.hash;
          if (item.kind == ImageOutcome::Kind::kTagged) {
            r.result = &item.result;
          } else {
            r.error = item.error.to_string();
          }
          records.push_back(std::move(r));
        }
      }
      if (options_.index && writer_error.ok()) {
        Status s = options_.index->commit(records);
        if (!s.ok()) {
          writer_error = s;
          stop = true;
          cv_room.notify_all();
          cv_ready.notify_all();
        }
      }
    }
  });

  // 2. Dispatcher + decode pool.
  ThreadPool pool(threads, window);
  const bool want_hash = options_.index != nullptr;
  LoadOptions load_options;
  load_options.decode.limits = options_.limits;
  load_options.fast = options_.fast_decode;
  std::thread dispatcher([&] {
    for (size_t i = 0; i < n; ++i) {
      {
        std::unique_lock lk(mu);
        cv_room.wait(lk, [&] { return stop.load() || i < released + window; });
        if (stop) return;
        Slot& s = ring[i % window];
        s = Slot{};
        s.file = i;
        const WalkedFile& f = files[i];
        if (!f.error.ok() || skip[i]) {
          s.ready = true;
          if (!f.error.ok()) {
            s.kind = ImageOutcome::Kind::kFailed;
            s.error = f.error;
          } else {
            s.kind = ImageOutcome::Kind::kSkipped;
            s.skip_reason = skip[i] == 1 ? "indexed" : "sidecar exists";
          }
          cv_ready.notify_all();
          continue;
        }
      }
      pool.submit([&, i] {
        Slot local;
        local.file = i;
        local.ready = true;
        auto bytes = read_bytes(files[i], options_.limits);
        if (!bytes.ok()) {
          local.kind = ImageOutcome::Kind::kFailed;
          local.error = bytes.status();
        } else {
          if (want_hash) local.hash = xxh64(*bytes);
          auto tile = load_tile(*bytes, tagger_.preprocess(), load_options, ledger_);
          if (tile.ok()) {
            local.tile = std::move(tile).value();
          } else {
            local.kind = ImageOutcome::Kind::kFailed;
            local.error = tile.status();
          }
        }
        std::lock_guard lk(mu);
        ring[i % window] = std::move(local);
        cv_ready.notify_all();
      });
    }
  });

  // 3. Inference on this thread, in file order.
  Status run_status;
  OutBatch out;
  std::vector<const Tile*> tiles;
  std::vector<size_t> tile_items;  // positions in `out` of the items in `tiles`
  for (size_t next = 0; next < n && !stop;) {
    {
      std::unique_lock lk(mu);
      cv_ready.wait(lk, [&] {
        return stop.load() || (ring[next % window].ready && ring[next % window].file == next);
      });
      if (stop) break;
    }
    // The slot is ours until `released` passes it, so it is read without the lock.
    Slot& s = ring[next % window];
    OutItem item;
    item.file = next;
    item.kind = s.kind;
    item.skip_reason = s.skip_reason;
    item.error = s.error;
    item.hash = s.hash;
    if (s.kind == ImageOutcome::Kind::kTagged) {
      tiles.push_back(&*s.tile);
      tile_items.push_back(out.size());
    }
    out.push_back(std::move(item));
    ++next;
    // Flush on a full batch, at the end, and when the ring is exhausted (all `window` slots
    // taken by skipped or failed files, which would otherwise wait for a batch forever).
    const bool flush = tiles.size() == batch || next == n || next - released >= window;
    if (!flush) continue;
    if (!tiles.empty()) {
      const auto ti = Clock::now();
      auto results = tagger_.tag(tiles, options_.tag);
      summary.inference_seconds += seconds_since(ti);
      ++summary.batches;
      for (size_t k = 0; k < tile_items.size(); ++k) {
        OutItem& it = out[tile_items[k]];
        if (results.ok() && results->size() == tiles.size()) {
          it.result = std::move((*results)[k]);
        } else {
          it.kind = ImageOutcome::Kind::kFailed;
          it.error = results.ok() ? Status::internal("tagger returned {} results for {} images",
                                                     results->size(), tiles.size())
                                  : results.status();
        }
      }
    }
    tiles.clear();
    tile_items.clear();
    {
      std::lock_guard lk(mu);
      for (size_t f = released; f < next; ++f) ring[f % window] = Slot{};  // frees the tiles
      released = next;
      cv_room.notify_all();
    }
    to_writer.push(std::move(out));
    out = OutBatch{};
  }
  if (stop) {
    std::lock_guard lk(mu);
    cv_room.notify_all();
  }
  dispatcher.join();
  pool.wait_idle();
  to_writer.close();
  writer.join();
  summary.seconds = seconds_since(t0);
  if (!writer_error.ok()) return writer_error;
  if (!run_status.ok()) return run_status;
  return summary;
}

}  // namespace seer
