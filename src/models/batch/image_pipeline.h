// The batch pipeline behind `seer tag` and `seer classify`: decode on a pool, overlapped with
// batched inference, overlapped with writing (sidecars, the caller's records, the SQLite index).
// Bounded everywhere, so memory stays flat however many and however large the images. A model
// family plugs in through a BatchModel<Result> adapter; everything else is shared.
//
//   class MyModel : public BatchModel<MyResult> { ... };   // preprocess, run, caption, index_entry
//   PipelineOptions opt;
//   opt.index = index.get();                  // optional SQLite index (skip + resume)
//   ImagePipeline<MyResult> pipeline(model, ledger, opt);
//   SEER_ASSIGN_OR_RETURN(RunSummary s, pipeline.run(files, [&](const Outcome<MyResult>& o) {
//     jsonl << (o.result ? record(o) : error(o)) << '\n';   // writer thread, file order
//   }));
//
// Stages and bounds:
//   1. the calling thread asks the index which files are done (before anything starts: the
//      index has one connection, later owned by the writer); without an index, in
//      skip-existing sidecar mode, an existing sidecar means done;
//   2. DecodeStage (decode_stage.h): a dispatcher hands files to `decode_threads` workers (read
//      the bytes, XXH64 them when an index is kept, decode + tile) while at most `max_in_flight`
//      files are between dispatch and inference;
//   3. the calling thread takes tiles in file order and runs one model call per batch;
//   4. a writer thread (queue of 2 batches) writes sidecars, calls on_outcome, then commits the
//      batch to the index in one transaction (so a SIGKILL loses at most the open batches, which
//      the next run redoes: sidecars are atomic and appends idempotent).
// Memory bound: max_in_flight tiles + per decode thread one encoded file and the decoder's
// working set + 2 batches of results + the model's arena and staging.
// Outcomes come in file order, one per file (done, skipped or failed). A failing image never
// stops the run; only an index write error does (returned as the run's status).
//
// One run at a time per ImagePipeline; the model's run() is called only by the calling thread,
// caption() and index_entry() only by the writer thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"
#include "image/decode_limits.h"
#include "image/preprocess.h"
#include "memory/ledger.h"
#include "models/batch/bounded_queue.h"
#include "models/batch/decode_stage.h"
#include "models/batch/image_file_walker.h"
#include "models/batch/sidecar_writer.h"
#include "models/batch/tag_index.h"

namespace seer {

// What the pipeline needs from a model family.
template <class Result>
class BatchModel {
 public:
  virtual ~BatchModel() = default;
  virtual const PreprocessSpec& preprocess() const = 0;
  virtual int max_batch() const = 0;
  // One model call for tiles (1..max_batch, made with preprocess()); one result per tile, in
  // order. Inference thread.
  virtual StatusOr<std::vector<Result>> run(std::span<const Tile* const> tiles) = 0;
  // The sidecar's caption items (empty: the family writes no sidecar). Writer thread.
  virtual std::vector<std::string> caption(const Result& r) const = 0;
  // What the index keeps of the image. Writer thread.
  virtual IndexEntry index_entry(const Result& r) const = 0;
};

struct PipelineOptions {
  int batch = 0;              // images per model call; 0: the model's max batch
  int decode_threads = 0;     // 0: hardware threads
  size_t max_in_flight = 0;   // 0: 2 × batch + decode_threads
  bool fast_decode = false;   // shrink-on-load for big JPEG/WebP (not bit-exact)
  int decode_nice = 0;        // niceness of the decode threads (DecodeStageOptions::nice)
  DecodeLimits limits;
  std::optional<SidecarOptions> sidecar;  // nullopt: no sidecars
  TagIndex* index = nullptr;              // not owned; used by the writer thread during run()
  bool retry_failed = true;               // re-try images the index holds as failed
  // The path stored in the index for a file (default: absolute, lexically normal).
  std::function<std::string(const std::filesystem::path&)> index_path;
};

template <class Result>
struct Outcome {
  using Kind = OutcomeKind;
  const WalkedFile* file = nullptr;
  Kind kind = Kind::kFailed;
  std::string skip_reason;                // kSkipped: "indexed" or "sidecar exists"
  Status error;                           // kFailed
  const Result* result = nullptr;         // kDone
  std::optional<SidecarOutcome> sidecar;  // when a sidecar was written (or found)
};

struct RunSummary {
  size_t total = 0, done = 0, skipped = 0, failed = 0;
  size_t batches = 0;
  double seconds = 0;            // wall time of run()
  double inference_seconds = 0;  // time inside model calls (+ post-processing)
};

// The non-template parts of ImagePipeline (image_pipeline.cpp).
namespace pipeline_detail {
// Options with the defaults filled in for a model of `max_batch`.
struct Plan {
  size_t batch = 1, threads = 1, window = 1;
};
Plan plan(const PipelineOptions& o, int model_max_batch);
std::string default_index_path(const std::filesystem::path& p);
// Stage 1: which files to pass through without decoding.
StatusOr<std::vector<SkipReason>> find_skips(std::span<const WalkedFile> files,
                                             const PipelineOptions& o);
}  // namespace pipeline_detail

template <class Result>
class ImagePipeline {
 public:
  // `model` and `ledger` must outlive the pipeline.
  ImagePipeline(BatchModel<Result>& model, MemoryLedger& ledger, PipelineOptions options)
      : model_(model), ledger_(ledger), options_(std::move(options)) {
    if (!options_.index_path) options_.index_path = pipeline_detail::default_index_path;
  }

  StatusOr<RunSummary> run(std::span<const WalkedFile> files,
                           const std::function<void(const Outcome<Result>&)>& on_outcome);

 private:
  // What the writer gets per file (the tile is gone by then).
  struct Item {
    size_t file = 0;
    OutcomeKind kind = OutcomeKind::kDone;
    SkipReason skip = SkipReason::kNone;
    Status error;
    std::optional<uint64_t> hash;
    Result result{};
  };
  using Batch = std::vector<Item>;

  Status write_batch(std::span<const WalkedFile> files, Batch& batch, RunSummary& summary,
                     const std::function<void(const Outcome<Result>&)>& on_outcome);

  BatchModel<Result>& model_;
  MemoryLedger& ledger_;
  PipelineOptions options_;
};

// ---- implementation ----

template <class Result>
Status ImagePipeline<Result>::write_batch(
    std::span<const WalkedFile> files, Batch& batch, RunSummary& summary,
    const std::function<void(const Outcome<Result>&)>& on_outcome) {
  std::vector<IndexEntry> entries;
  std::vector<IndexRecord> records;
  entries.reserve(batch.size());  // records point into it: no reallocation
  records.reserve(batch.size());
  for (Item& item : batch) {
    const WalkedFile& f = files[item.file];
    Outcome<Result> o;
    o.file = &f;
    o.kind = item.kind;
    o.skip_reason = std::string(to_string(item.skip));
    o.error = item.error;
    if (item.kind == OutcomeKind::kDone) {
      o.result = &item.result;
      if (options_.sidecar) {
        const std::vector<std::string> caption = model_.caption(item.result);
        auto so = write_sidecar(f.path, caption, *options_.sidecar);
        if (so.ok()) {
          o.sidecar = *so;
        } else {
          o.kind = item.kind = OutcomeKind::kFailed;
          o.error = item.error = so.status();
          o.result = nullptr;
        }
      }
    } else if (item.kind == OutcomeKind::kSkipped && item.skip == SkipReason::kSidecarExists) {
      o.sidecar = SidecarOutcome::kSkipped;
    }
    switch (o.kind) {
      case OutcomeKind::kDone: ++summary.done; break;
      case OutcomeKind::kSkipped: ++summary.skipped; break;
      case OutcomeKind::kFailed: ++summary.failed; break;
    }
    if (on_outcome) on_outcome(o);
    if (options_.index && f.error.ok() && item.kind != OutcomeKind::kSkipped) {
      IndexRecord r;
      r.path = options_.index_path(f.path);
      r.size = f.size;
      r.mtime_ns = f.mtime_ns;
      r.content_hash = item.hash;
      if (item.kind == OutcomeKind::kDone) {
        entries.push_back(model_.index_entry(item.result));
        r.result = &entries.back();
      } else {
        r.error = item.error.to_string();
      }
      records.push_back(std::move(r));
    }
  }
  return options_.index ? options_.index->commit(records) : Status{};
}

template <class Result>
StatusOr<RunSummary> ImagePipeline<Result>::run(
    std::span<const WalkedFile> files, const std::function<void(const Outcome<Result>&)>& on_outcome) {
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  const size_t n = files.size();
  const pipeline_detail::Plan plan = pipeline_detail::plan(options_, model_.max_batch());

  // 1. What is already done (the index connection is the writer's once the run starts).
  SEER_ASSIGN_OR_RETURN(std::vector<SkipReason> skip, pipeline_detail::find_skips(files, options_));

  // 2. Decode (starts dispatching at once).
  DecodeStageOptions dopt;
  dopt.threads = plan.threads;
  dopt.window = plan.window;
  dopt.hash = options_.index != nullptr;
  dopt.load.fast = options_.fast_decode;
  dopt.nice = options_.decode_nice;
  dopt.limits = options_.limits;
  DecodeStage stage(files, skip, model_.preprocess(), dopt, ledger_);

  // 4. Writer.
  RunSummary summary;
  summary.total = n;
  Status writer_error;
  BoundedQueue<Batch> to_writer(2);
  std::thread writer([&] {
    while (auto b = to_writer.pop()) {
      if (!writer_error.ok()) continue;  // drain after a failed commit
      Status s = write_batch(files, *b, summary, on_outcome);
      if (!s.ok()) {
        writer_error = s;
        stage.stop();
      }
    }
  });

  // 3. Inference on this thread, in file order.
  Batch out;
  std::vector<const Tile*> tiles;
  std::vector<size_t> tile_items;  // positions in `out` of the items in `tiles`
  for (size_t next = 0; next < n;) {
    DecodedFile* d = stage.wait(next);
    if (d == nullptr) break;  // stopped by a writer error
    Item item;
    item.file = next;
    item.kind = d->kind;
    item.skip = d->skip;
    item.error = d->error;
    item.hash = d->hash;
    if (d->kind == OutcomeKind::kDone) {
      tiles.push_back(&*d->tile);
      tile_items.push_back(out.size());
    }
    out.push_back(std::move(item));
    ++next;
    // Flush on a full batch, at the end, and when the ring is exhausted (all slots taken by
    // skipped or failed files, which would otherwise wait for a batch forever).
    const bool flush = tiles.size() == plan.batch || next == n || next - stage.released() >= plan.window;
    if (!flush) continue;
    if (!tiles.empty()) {
      const auto ti = Clock::now();
      auto results = model_.run(tiles);
      summary.inference_seconds += std::chrono::duration<double>(Clock::now() - ti).count();
      ++summary.batches;
      for (size_t k = 0; k < tile_items.size(); ++k) {
        Item& it = out[tile_items[k]];
        if (results.ok() && results->size() == tiles.size()) {
          it.result = std::move((*results)[k]);
        } else {
          it.kind = OutcomeKind::kFailed;
          it.error = results.ok() ? Status::internal("the model returned {} results for {} images",
                                                     results->size(), tiles.size())
                                  : results.status();
        }
      }
    }
    tiles.clear();
    tile_items.clear();
    stage.release(next);  // frees the tiles
    to_writer.push(std::move(out));
    out = Batch{};
  }
  to_writer.close();
  writer.join();
  summary.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  if (!writer_error.ok()) return writer_error;
  return summary;
}

}  // namespace seer
