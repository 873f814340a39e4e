// `seer classify [options] PATH...`: classify images and folders with an image classifier
// (issue 8: nsfwjs TF.js folders, Hugging Face ViT classifier folders).
//
//   seer classify ~/photos -r --model nsfwjs/mobilenet_v2 --jsonl - > nsfw.jsonl
//   seer classify ~/photos -r --db nsfw.db --jsonl nsfw.jsonl      # resumable
//
// The same run, pipeline, progress and resume behaviour as `seer tag` (cli/batch_command.h,
// models/batch/image_pipeline.h): decode on a pool overlapped with batched inference, --db FILE
// keeps an SQLite index (every class score of each image, the top label as its text) so a re-run
// skips unchanged images and a run killed with SIGKILL resumes. No sidecars. One JSONL record per
// image (tag_record_json.h): {"path", "label", "score", "predictions": [all classes, score
// descending]} or {"path", "error"}.
// Exit code: 0 all images classified or skipped, 1 some image failed, 2 usage (bad flag, no model).
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "cli/batch_command.h"
#include "cli/commands.h"
#include "cli/tag_record_json.h"
#include "models/classifier/classifier.h"

namespace seer::cli {
namespace {

namespace fs = std::filesystem;

// Used when --model is not given: nsfwjs's MobileNetV2, as `make models` installs it.
constexpr const char* kDefaultClassifier = "nsfwjs/mobilenet_v2";

// A loaded classifier and its execution context as the shared pipeline's model.
class ClassifierBatchModel final : public BatchModel<ClassifyResult> {
 public:
  ClassifierBatchModel(const Classifier& c, ClassifierContext& ctx) : c_(c), ctx_(ctx) {}
  const PreprocessSpec& preprocess() const override { return c_.preprocess(); }
  int max_batch() const override { return c_.max_batch(); }
  StatusOr<std::vector<ClassifyResult>> run(std::span<const Tile* const> tiles) override {
    return c_.classify(ctx_, tiles);
  }
  std::vector<std::string> caption(const ClassifyResult&) const override { return {}; }
  // Every class with its probability (category kClassCategory); the text is the top label.
  IndexEntry index_entry(const ClassifyResult& r) const override {
    IndexEntry e;
    if (!r.predictions.empty()) e.text = r.predictions.front().label;
    for (const ClassScore& p : r.predictions) e.scores.push_back({kClassCategory, p.label, p.score});
    return e;
  }

 private:
  const Classifier& c_;
  ClassifierContext& ctx_;
};

ClassifyOutput to_output(const ClassifyResult& r) {
  ClassifyOutput out;
  for (const ClassScore& c : r.predictions) out.predictions.push_back({c.label, c.score});
  if (!out.predictions.empty()) {
    out.label = out.predictions.front().label;
    out.score = out.predictions.front().score;
  }
  return out;
}

class ClassifyCommand final : public BatchCommand<Classifier, ClassifyResult> {
 public:
  explicit ClassifyCommand(const BatchArgs& args) : BatchCommand("classify", "classified", args) {}

 private:
  // --model: a classifier folder, or an id under the models dir (default kDefaultClassifier,
  // whose id stays "nsfwjs/mobilenet_v2").
  StatusOr<ModelFolder> resolve_model(const std::string& model, const std::string& models_dir) const override {
    const std::string id = model.empty() ? kDefaultClassifier : model;
    if (!model.empty() && Classifier::recognise(model)) return ModelFolder{model, model_id_of(model)};
    fs::path under = fs::path(models_dir) / id;
    if (Classifier::recognise(under)) return ModelFolder{under, model.empty() ? id : model_id_of(under)};
    if (model.empty()) {
      return Status::invalid_argument(
          "--model is required: no default classifier {} under {} (`make models` installs it)", id,
          models_dir);
    }
    return Status::not_found("model '{}': neither a classifier folder (nsfwjs TF.js or HF "
                             "model.onnx + config.json + preprocessor_config.json) nor an id under {}",
                             model, models_dir);
  }

  // No thresholds: the settings that make a stored result stale are the model's alone.
  TagRunSettings index_settings(const std::string& model_id) const override {
    return {.model_id = model_id, .general_threshold = 0, .character_threshold = 0};
  }

  BatchModel<ClassifyResult>& batch_model(const Classifier& model, ClassifierContext& context) override {
    return model_.emplace(model, context);
  }

  std::string record(const std::string& path, const ClassifyResult& r) const override {
    return classify_record_json(path, to_output(r));
  }

  std::optional<ClassifierBatchModel> model_;
};

}  // namespace

void register_classify(CLI::App& app, CliContext& ctx) {
  auto a = std::make_shared<BatchArgs>();  // classify has no flags of its own
  CLI::App* cmd = app.add_subcommand("classify", "classify images or folders (NSFW and other image classifiers)");
  add_batch_input_flags(cmd, *a,
                        std::string("classifier folder or an id under --models-dir (default ") + kDefaultClassifier + ")");
  add_batch_output_flags(cmd, *a, "SQLite index: skip unchanged images, resume after a crash");
  add_batch_run_flags(cmd, *a, ctx);
  cmd->callback([&ctx, a] { ctx.exit_code = ClassifyCommand(*a).run(ctx); });
}

}  // namespace seer::cli
