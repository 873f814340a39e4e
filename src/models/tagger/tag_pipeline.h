// The `seer tag` pipeline: decode on a pool, overlapped with batched inference, overlapped with
// writing (sidecars, the caller's JSONL, the tag index). Bounded everywhere, so memory stays flat
// however many and however large the images.
//
//   TagPipelineOptions opt;
//   opt.sidecar = SidecarOptions{};           // <stem>.txt, skip existing
//   opt.index = index.get();                  // optional SQLite index (skip + resume)
//   Wd14TileTagger model(*tagger, *ctx);
//   TagPipeline pipeline(model, ledger, opt);
//   SEER_ASSIGN_OR_RETURN(TagRunSummary s, pipeline.run(files, [&](const ImageOutcome& o) {
//     jsonl << (o.result ? record(o) : error(o)) << '\n';   // writer thread, file order
//   }));
//
// Stages and bounds:
//   1. the calling thread asks the index which files are done (before anything starts: the
//      index has one connection, later owned by the writer);
//   2. a dispatcher thread hands files to `decode_threads` workers (read bytes, XXH64 them when
//      an index is kept, decode + WD14 tile via image/preprocess.h) while at most
//      `max_in_flight` files are between dispatch and inference;
//   3. the calling thread takes tiles in file order, runs one engine call per batch, and
//      post-processes;
//   4. a writer thread (queue of 2 batches) writes sidecars, calls on_outcome, then commits the
//      batch to the index in one transaction (so a SIGKILL loses at most the open batch, which
//      the next run redoes: sidecars are atomic and appends idempotent).
// Memory bound: max_in_flight tiles (H×W×3 bytes each) + per decode thread one encoded file and
// one decoded photo (less with fast decode) + the tagger's arena and staging.
// Outcomes come in file order, one per file (tagged, skipped or failed). A failing image never
// stops the run; only an index write error does (returned as the run's status).
//
// One run at a time per TagPipeline; the TileTagger is used only by the calling thread.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>

#include "core/status.h"
#include "image/decode_limits.h"
#include "memory/ledger.h"
#include "models/tagger/image_file_walker.h"
#include "models/tagger/sidecar_writer.h"
#include "models/tagger/tag_index.h"
#include "models/tagger/tag_postprocess.h"
#include "models/tagger/wd14_tagger.h"

namespace seer {

// What the pipeline needs from a model: the tile it wants and a batched tag call. Used by one
// thread (the pipeline's inference stage). Wd14TileTagger is the real one; tests use fakes.
class TileTagger {
 public:
  virtual ~TileTagger() = default;
  virtual const PreprocessSpec& preprocess() const = 0;
  virtual int max_batch() const = 0;
  // One engine call for tiles (<= max_batch); one result per tile, in order.
  virtual StatusOr<std::vector<TagResult>> tag(std::span<const Tile* const> tiles,
                                               const TagOptions& options) = 0;
};

// A loaded Wd14Tagger with the execution context the pipeline's inference thread uses.
class Wd14TileTagger final : public TileTagger {
 public:
  Wd14TileTagger(const Wd14Tagger& tagger, TaggerContext& ctx) : tagger_(tagger), ctx_(ctx) {}
  const PreprocessSpec& preprocess() const override { return tagger_.preprocess(); }
  int max_batch() const override { return tagger_.max_batch(); }
  StatusOr<std::vector<TagResult>> tag(std::span<const Tile* const> tiles,
                                       const TagOptions& options) override {
    return tagger_.tag(ctx_, tiles, options);
  }

 private:
  const Wd14Tagger& tagger_;
  TaggerContext& ctx_;
};

struct TagPipelineOptions {
  TagOptions tag;
  int batch = 0;              // images per engine call; 0: the tagger's max batch
  int decode_threads = 0;     // 0: hardware threads
  size_t max_in_flight = 0;   // 0: 2 × batch + decode_threads
  bool fast_decode = false;   // shrink-on-load for big JPEG/WebP (not bit-exact)
  DecodeLimits limits;
  std::optional<SidecarOptions> sidecar;  // nullopt: no sidecars
  TagIndex* index = nullptr;              // not owned; used by the writer thread during run()
  bool retry_failed = true;               // re-try images the index holds as failed
  // The path stored in the index for a file (default: absolute, lexically normal).
  std::function<std::string(const std::filesystem::path&)> index_path;
};

struct ImageOutcome {
  enum class Kind { kTagged, kSkipped, kFailed };
  const WalkedFile* file = nullptr;
  Kind kind = Kind::kFailed;
  std::string skip_reason;                // kSkipped: "indexed" or "sidecar exists"
  Status error;                           // kFailed
  const TagResult* result = nullptr;      // kTagged
  std::optional<SidecarOutcome> sidecar;  // when a sidecar was written (or found)
};
std::string_view to_string(ImageOutcome::Kind k);

struct TagRunSummary {
  size_t total = 0, tagged = 0, skipped = 0, failed = 0;
  size_t batches = 0;
  double seconds = 0;            // wall time of run()
  double inference_seconds = 0;  // time inside engine calls (+ post-processing)
};

class TagPipeline {
 public:
  // `tagger` and `ledger` must outlive the pipeline.
  TagPipeline(TileTagger& tagger, MemoryLedger& ledger, TagPipelineOptions options);

  StatusOr<TagRunSummary> run(std::span<const WalkedFile> files,
                              const std::function<void(const ImageOutcome&)>& on_outcome);

 private:
  TileTagger& tagger_;
  MemoryLedger& ledger_;
  TagPipelineOptions options_;
};

}  // namespace seer
