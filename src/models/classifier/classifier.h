// The image classifier family: an nsfwjs TF.js folder or a Hugging Face image-classification
// folder (ONNX) loaded on the engine, turning batches of preprocessed tiles into per-class
// probabilities (classifier_spec.h says what each folder describes and how it is read).
//
//   ClassifierLoadOptions opt{.ledger = &ledger, .owner = "nsfwjs/mobilenet_v2", .max_batch = 8};
//   SEER_ASSIGN_OR_RETURN(std::unique_ptr<Classifier> c, Classifier::load(dir, opt));
//   SEER_ASSIGN_OR_RETURN(auto ctx, c->create_context());              // one per compute thread
//   SEER_ASSIGN_OR_RETURN(Tile tile, load_tile(bytes, c->preprocess(), {}, ledger));
//   const Tile* batch[] = {&tile};
//   SEER_ASSIGN_OR_RETURN(std::vector<ClassifyResult> r, c->classify(*ctx, batch));
//   r[0].predictions[0].label;                                          // the top class
//
// Tiles: nsfwjs specs make float32 tiles already divided by 255 (Tile::Type::kF32); HF specs make
// 8-bit tiles. classify() checks each tile's size and type against preprocess(), writes them into
// the context's staging tensor (write_tensor), runs one engine call for the whole batch, applies
// the spec's activation per row (none / softmax / sigmoid) and sorts every class by score
// (descending; ties keep class order). The graph's input size must equal the spec's (checked at
// load), and its output must be [N, labels().size()].
//
// Thread-safety: a Classifier is immutable after load and shareable; each ClassifierContext is
// used by one thread at a time. classify() allocates only the result vectors.
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
#include "models/classifier/classifier_spec.h"
#include "models/image_model_context.h"

namespace seer {

struct ClassScore {
  std::string label;
  float score = 0;
};

struct ClassifyResult {
  std::vector<ClassScore> predictions;  // all classes, score descending
};

// Owner "" is "classifier". The context holds the engine's arena and the float input staging
// buffer (max_batch × 3 × H × W floats).
using ClassifierLoadOptions = ImageModelLoadOptions;
using ClassifierContext = ImageModelContext;

class Classifier {
 public:
  // True for an nsfwjs TF.js folder (seer.json with "kind": "classifier" next to model.json) or
  // an HF folder (model.onnx + config.json with id2label + preprocessor_config.json). Reads only
  // the small JSON files.
  static bool recognise(const std::filesystem::path& dir);

  // Reads the spec, loads the graph (engine::Model::load of the folder or model.onnx), checks the
  // input/output shapes against the spec. NotFound for a folder of neither layout,
  // InvalidArgument for a spec/graph mismatch, Unsupported for what the engine cannot import.
  static StatusOr<std::unique_ptr<Classifier>> load(const std::filesystem::path& dir,
                                                    const ClassifierLoadOptions& options);

  const PreprocessSpec& preprocess() const { return spec_.preprocess; }
  int max_batch() const { return model_->max_batch(); }
  const std::vector<std::string>& labels() const { return spec_.labels; }
  size_t num_classes() const { return spec_.labels.size(); }
  const ClassifierSpec& spec() const { return spec_; }
  const engine::Model& model() const { return *model_; }

  // `from`: draw the arena and staging from this reservation instead of the ledger.
  StatusOr<std::unique_ptr<ClassifierContext>> create_context(Reservation* from = nullptr) const;

  // Runs tiles[0..n) (1 <= n <= max_batch, each made with preprocess()) as one engine call.
  StatusOr<std::vector<ClassifyResult>> classify(ClassifierContext& ctx,
                                                 std::span<const Tile* const> tiles) const;
  // The same run, returning the n × labels().size() probabilities in class order (row-major).
  Status infer(ClassifierContext& ctx, std::span<const Tile* const> tiles,
               std::vector<float>* probs) const;

 private:
  Classifier() = default;

  std::shared_ptr<engine::Model> model_;
  ClassifierSpec spec_;
  MemoryLedger* ledger_ = nullptr;
  std::string owner_;
  DeviceId device_;
};

}  // namespace seer
