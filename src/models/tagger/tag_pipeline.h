// The `seer tag` pipeline: the shared batch pipeline (models/batch/image_pipeline.h: decode pool
// -> bounded ordered ring -> batched inference -> writer with sidecars, JSONL callback, index)
// with the WD14 tagger plugged in.
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
// What the tagger adds to the shared pipeline: post-processing options per run, the sidecar
// caption (TagResult::text_tags) and the index entry (ratings, general and character tags with
// their CSV categories, and the text). Stages, bounds, ordering, failure and resume behaviour
// are image_pipeline.h's.
//
// One run at a time per TagPipeline; the TileTagger is used only by the calling thread.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "memory/ledger.h"
#include "models/batch/image_pipeline.h"
#include "models/tagger/tag_postprocess.h"
#include "models/tagger/wd14_tagger.h"

namespace seer {

// What the pipeline needs from a tagger: the tile it wants and a batched tag call. Used by one
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

// The index entry of a tagged image: every rating (category 9), the kept general (0) and
// character (4) tags with their scores, and the caption text.
IndexEntry tag_index_entry(const TagResult& r);

// A TileTagger with fixed post-processing options as the shared pipeline's model.
class TaggerBatchModel final : public BatchModel<TagResult> {
 public:
  TaggerBatchModel(TileTagger& tagger, TagOptions options)
      : tagger_(tagger), options_(std::move(options)) {}
  const PreprocessSpec& preprocess() const override { return tagger_.preprocess(); }
  int max_batch() const override { return tagger_.max_batch(); }
  StatusOr<std::vector<TagResult>> run(std::span<const Tile* const> tiles) override {
    return tagger_.tag(tiles, options_);
  }
  std::vector<std::string> caption(const TagResult& r) const override { return r.text_tags; }
  IndexEntry index_entry(const TagResult& r) const override { return tag_index_entry(r); }

 private:
  TileTagger& tagger_;
  TagOptions options_;
};

struct TagPipelineOptions : PipelineOptions {
  TagOptions tag;
};

using ImageOutcome = Outcome<TagResult>;
using TagRunSummary = RunSummary;

class TagPipeline {
 public:
  // `tagger` and `ledger` must outlive the pipeline.
  TagPipeline(TileTagger& tagger, MemoryLedger& ledger, TagPipelineOptions options)
      : model_(tagger, options.tag), pipeline_(model_, ledger, std::move(options)) {}

  StatusOr<TagRunSummary> run(std::span<const WalkedFile> files,
                              const std::function<void(const ImageOutcome&)>& on_outcome) {
    return pipeline_.run(files, on_outcome);
  }

 private:
  TaggerBatchModel model_;
  ImagePipeline<TagResult> pipeline_;
};

}  // namespace seer
