// What a classifier folder says about its model: labels, preprocessing and output activation,
// read from small files only (no weights), so the catalog and the runtime can use it cheaply.
//
//   SEER_ASSIGN_OR_RETURN(ClassifierSpec spec, read_classifier_spec(dir));
//   engine::Model::load(spec.model_path.string(), ...);     // a TF.js folder or model.onnx
//   load_tile(bytes, spec.preprocess, {}, ledger);            // the model's tile
//   apply_activation(spec.output, logits_row);                // -> probabilities
//
// Two layouts (models.md §3, tools/nsfwjs/FORMAT.md):
// - nsfwjs TF.js folder: model.json + seer.json (written by tools/nsfwjs/setup.sh) with
//   "kind": "classifier", "labels", "input.shape" [-1,S,S,3], "preprocess" (RGB, /255, tf
//   bilinear alignCorners squash to S×S, mean 0 / std 1), "output.activation" ("softmax": the
//   graph already outputs probabilities) and "default" (the server's default classifier).
//   format "tfjs"; model_path = the folder (the engine's TF.js importer reads model.json).
// - Hugging Face image classifier: model.onnx + config.json (id2label; problem_type) +
//   preprocessor_config.json (size {height,width} or an int, resample 2 BILINEAR / 3 BICUBIC,
//   do_rescale + rescale_factor, do_normalize + image_mean/image_std, do_convert_rgb). NCHW RGB,
//   squash resize (ViTImageProcessor). Output: logits → softmax, or sigmoid when problem_type is
//   "multi_label_classification". format "onnx"; model_path = dir/model.onnx.
//
// Pure functions over text, plus read_classifier_spec, which reads the small files. Thread-safe.
#pragma once

#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "image/preprocess.h"

namespace seer {

// How the graph's output becomes per-class probabilities.
enum class ClassifierActivation {
  kNone,     // the graph ends in a softmax already (nsfwjs): used as is
  kSoftmax,  // logits, single-label: softmax over the classes
  kSigmoid,  // logits, multi-label: sigmoid per class
};
std::string_view to_string(ClassifierActivation a);  // "none", "softmax", "sigmoid"

struct ClassifierSpec {
  std::string format;                 // "tfjs" | "onnx"
  std::filesystem::path model_path;   // what engine::Model::load gets (set by read_classifier_spec)
  std::string name;                   // seer.json "name" or config.json "_name_or_path" (may be empty)
  std::vector<std::string> labels;    // class index -> label
  PreprocessSpec preprocess;          // tile + tensor recipe at the model's input size
  ClassifierActivation activation = ClassifierActivation::kSoftmax;
  bool is_default = false;            // seer.json "default": true
};

// The files that mark each layout.
inline constexpr const char* kSeerMetaFile = "seer.json";
inline constexpr const char* kTfjsModelFile = "model.json";
inline constexpr const char* kOnnxModelFile = "model.onnx";
inline constexpr const char* kHfConfigFile = "config.json";
inline constexpr const char* kHfPreprocessorFile = "preprocessor_config.json";

// seer.json of an nsfwjs TF.js folder. InvalidArgument naming the field on anything missing or
// inconsistent; Unsupported for a preprocessing it cannot reproduce.
StatusOr<ClassifierSpec> parse_nsfwjs_spec(std::string_view seer_json);
// config.json + preprocessor_config.json of an HF image classifier.
StatusOr<ClassifierSpec> parse_hf_classifier_spec(std::string_view config_json,
                                                  std::string_view preprocessor_json);

// Which layout `dir` holds, by file presence only (no parsing): "tfjs", "onnx" or "".
std::string classifier_layout(const std::filesystem::path& dir);
// Reads and parses the folder's spec files; sets model_path. NotFound when it is neither layout.
StatusOr<ClassifierSpec> read_classifier_spec(const std::filesystem::path& dir);

// Applies `a` to one row of graph outputs in place (softmax in double, stored as float).
void apply_activation(ClassifierActivation a, std::span<float> row);

}  // namespace seer
