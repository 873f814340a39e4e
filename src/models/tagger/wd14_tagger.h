// The WD14 tagger family: a SmilingWolf model folder (model.onnx + selected_tags.csv) loaded on
// the engine, turning batches of preprocessed tiles into TagResults.
//
//   TaggerLoadOptions opt{.ledger = &ledger, .owner = "wd-vit-tagger-v3", .max_batch = 8};
//   SEER_ASSIGN_OR_RETURN(std::unique_ptr<Wd14Tagger> tagger, Wd14Tagger::load(dir, opt));
//   SEER_ASSIGN_OR_RETURN(auto ctx, tagger->create_context());        // one per compute thread
//   SEER_ASSIGN_OR_RETURN(Tile tile, load_tile(bytes, tagger->preprocess(), {}, ledger));
//   const Tile* batch[] = {&tile};
//   SEER_ASSIGN_OR_RETURN(std::vector<TagResult> r, tagger->tag(*ctx, batch, TagOptions{}));
//
// From the graph, never hard-coded (models.md §1.3): the input and output names, the input size
// and layout (NHWC [N,H,W,3] as every WD14 export; NCHW [N,3,H,W] accepted too), the class count
// (checked against the CSV). Preprocessing is the Space's (image/preprocess.h preset "wd14":
// white composite, white pad to a square, Pillow BICUBIC, BGR, 0..255). The output is already a
// probability: it goes to post-processing as is (no sigmoid).
// A batch is one engine call; rows are independent (the graph has no cross-batch op), so an
// image's tags do not depend on its batch mates (tests/model/tagger_model_test.cpp checks it).
//
// Thread-safety: a Wd14Tagger is immutable after load and shareable; each TaggerContext is used
// by one thread at a time. tag()/infer() allocate only the result vectors.
#pragma once

#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/model.h"
#include "image/preprocess.h"
#include "memory/ledger.h"
#include "models/image_model_context.h"
#include "models/tagger/tag_list.h"
#include "models/tagger/tag_postprocess.h"

namespace seer {

// Owner "" is "tagger". The context holds the engine's arena and the float input staging buffer
// (max_batch × H × W × 3 floats).
using TaggerLoadOptions = ImageModelLoadOptions;
using TaggerContext = ImageModelContext;

class Wd14Tagger {
 public:
  // The files that make a folder a WD14 tagger.
  static constexpr const char* kModelFile = "model.onnx";
  static constexpr const char* kTagsFile = "selected_tags.csv";
  static bool is_model_dir(const std::filesystem::path& dir);

  // Reads the CSV, loads the graph, checks input/output shapes against it. NotFound for missing
  // files, InvalidArgument for a CSV or shape mismatch, Unsupported for an unknown input layout.
  static StatusOr<std::unique_ptr<Wd14Tagger>> load(const std::filesystem::path& dir,
                                                    const TaggerLoadOptions& options);

  // `from`: draw the arena and staging from this reservation instead of the ledger.
  StatusOr<std::unique_ptr<TaggerContext>> create_context(Reservation* from = nullptr) const;

  // Runs tiles[0..n) (n <= max_batch, each made with preprocess()) as one engine call; writes
  // n × num_classes() probabilities to `probs` (resized).
  Status infer(TaggerContext& ctx, std::span<const Tile* const> tiles,
               std::vector<float>* probs) const;
  // infer() + postprocess_tags() per row.
  StatusOr<std::vector<TagResult>> tag(TaggerContext& ctx, std::span<const Tile* const> tiles,
                                       const TagOptions& options) const;

  const TagList& tags() const { return tags_; }
  const PreprocessSpec& preprocess() const { return spec_; }
  int max_batch() const { return model_->max_batch(); }
  size_t num_classes() const { return tags_.size(); }
  const std::string& input_name() const { return model_->inputs()[0].name; }
  const std::string& output_name() const { return model_->outputs()[0].name; }
  const engine::Model& model() const { return *model_; }

 private:
  Wd14Tagger() = default;

  std::shared_ptr<engine::Model> model_;
  TagList tags_;
  PreprocessSpec spec_;
  MemoryLedger* ledger_ = nullptr;
  std::string owner_;
  DeviceId device_;
};

}  // namespace seer
