// The image classifier family for the runtime: a ModelBackend over models/classifier's
// Classifier (nsfwjs TF.js folders and Hugging Face ONNX image classifiers).
//
//   ModelFamilyRegistry families = default_family_registry();   // lists classifier folders
//   families.add(classifier_family(ledger));                    // ... and makes them loadable
//   std::optional<std::string> id = default_classifier_id(catalog.list());  // seer.json default
//
// Recognition (recognise_classifier, used by default_family_registry) parses the folder's small
// spec files (classifier_spec.h): kind "classifier", format "tfjs" (model.json + seer.json +
// the *.bin shards) or "onnx" (model.onnx + config.json with id2label + preprocessor_config.json).
// plan(b) is the engine's own measurement (engine::Model::plan_bytes of the folder or model.onnx
// at batch b: weights and arena, cached per batch) plus the float input staging
// (b × 3 × H × W × 4 bytes). load() draws weights, arena and staging from the reservation, under
// its owner and device (as the tagger does). prepare() decodes the request's image exactly (no shrink-on-load) into the
// spec's tile with the image layer's default limits; nsfwjs tiles are float32 (x / 255 after
// tfjs's alignCorners resize; at equal size the resize is the identity), HF tiles 8-bit.
// run() is one engine call per batch; a request's top_k keeps its first k predictions.
//
// Thread-safety: as ModelBackend requires. The ledger must outlive every backend.
#pragma once

#include <filesystem>
#include <optional>
#include <span>
#include <string>

#include "memory/ledger.h"
#include "runtime/model_backend.h"
#include "runtime/plan_cache.h"

namespace seer {

// Recognise-only (cheap; reads the spec files): the descriptor of a classifier folder or nullopt.
std::optional<ModelDescriptor> recognise_classifier(const std::filesystem::path& dir);

// `ledger` owns the tiles prepare() makes and the classifier's buffers.
ModelFamily classifier_family(MemoryLedger& ledger, engine::EngineChoice choice = {});

// The classifier a request that names no model gets: the catalog classifier whose seer.json says
// "default": true (the first by id if several), else nullopt. Reads each classifier's seer.json
// once per process (cached by path). Thread-safe.
std::optional<std::string> default_classifier_id(std::span<const ModelDescriptor> models);

}  // namespace seer
