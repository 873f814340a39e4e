// Reads a TF.js model folder (model.json + .bin shards; both "graph-model" and Keras "layers"
// models) into an engine Graph, as import_onnx() does for .onnx files, so Model::load() runs it.
//
//   ImportOptions opt{.ledger = &ledger, .owner = "nsfwjs-mobilenet_v2"};
//   if (is_tfjs_model_path(path)) SEER_ASSIGN_OR_RETURN(ImportedGraph g, import_tfjs(path, opt));
//
// `path` is the folder holding model.json, or the model.json file itself. The graph takes the
// model's NHWC float32 input (name and shape as in the model, batch dynamic) and gives its
// outputs under their TF/Keras names; inside, image tensors are NCHW (one Transpose after the
// input) so the engine's ONNX-style Conv/pool ops run them. Weights are dequantised
// (tfjs_weights.h) and re-laid out once into ledger buffers of g.weights (tag weights, owner),
// BatchNorm folded into the preceding convolution where it reads only that. An op, layer class
// or config value the importer does not know fails with Unsupported naming it and the node;
// a missing or truncated shard or a malformed model.json with InvalidArgument / NotFound.
// Thread-safe (no shared state besides the ledger).
#pragma once

#include <string>

#include "core/status.h"
#include "engine/onnx/onnx_import.h"

namespace seer::engine {

// True for a directory containing model.json, or a path whose file name ends in "model.json".
bool is_tfjs_model_path(const std::string& path);

StatusOr<ImportedGraph> import_tfjs(const std::string& path, const ImportOptions& options);

}  // namespace seer::engine
