// `seer tag [options] PATH...`: tag images and folders with a WD14 tagger (issue 6).
//
//   seer tag ~/photos -r --model wd-vit-tagger-v3                 # <stem>.txt next to each image
//   seer tag ~/photos -r --db tags.db --jsonl - --mcut > tags.jsonl
//
// Outputs: sidecars (default; --skip-existing, --overwrite, --append, --no-sidecar), --jsonl FILE
// (`-` = stdout; one record per image, tag_record_json.h), --db FILE (tag index: re-runs skip
// unchanged images, a killed run resumes). The run is cli/batch_command.h's, the model
// models/tagger/tag_pipeline.h's.
// Progress goes to stderr: a bar on a TTY, plain lines otherwise; then a summary.
// Exit code: 0 all images tagged or skipped, 1 some image failed, 2 usage (bad flag, no model).
#include <filesystem>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "cli/batch_command.h"
#include "cli/commands.h"
#include "cli/tag_record_json.h"
#include "models/tagger/tag_pipeline.h"
#include "models/tagger/wd14_tagger.h"

namespace seer::cli {
namespace {

namespace fs = std::filesystem;

struct TagArgs : BatchArgs {
  bool overwrite = false;
  bool append = false;
  bool skip_existing = false;
  bool no_sidecar = false;
  std::string caption_ext = ".txt";
  double threshold = 0.35;
  double character_threshold = 0.85;
  bool mcut = false;
  bool mcut_general = false;
  bool mcut_character = false;
  std::string characters = "omit";
  std::string rating_tag = "omit";
  std::string exclude;
  bool no_escape = false;
  bool keep_underscores = false;
};

StatusOr<TextPlacement> parse_placement(const std::string& s, const char* flag) {
  if (s == "omit" || s == "none") return TextPlacement::kOmit;
  if (s == "first") return TextPlacement::kFirst;
  if (s == "last") return TextPlacement::kLast;
  return Status::invalid_argument("{} must be omit, first or last, not '{}'", flag, s);
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.find_first_not_of(" \t") != std::string::npos) out.push_back(item);
  }
  return out;
}

class TagCommand final : public BatchCommand<Wd14Tagger, TagResult> {
 public:
  explicit TagCommand(const TagArgs& args) : BatchCommand("tag", "tagged", args), a_(args) {}

 private:
  // The post-processing options and the sidecar mode.
  Status prepare(PipelineOptions& opt) override {
    tag_.general_threshold = a_.threshold;
    tag_.character_threshold = a_.character_threshold;
    tag_.general_mcut = a_.mcut || a_.mcut_general;
    tag_.character_mcut = a_.mcut || a_.mcut_character;
    SEER_ASSIGN_OR_RETURN(tag_.characters_in_text, parse_placement(a_.characters, "--characters"));
    SEER_ASSIGN_OR_RETURN(tag_.rating_in_text, parse_placement(a_.rating_tag, "--rating-tag"));
    tag_.exclude = split_commas(a_.exclude);
    tag_.escape_parentheses = !a_.no_escape;
    tag_.replace_underscores = !a_.keep_underscores;
    if (static_cast<int>(a_.overwrite) + static_cast<int>(a_.append) + static_cast<int>(a_.skip_existing) > 1) {
      return Status::invalid_argument("--skip-existing, --overwrite and --append exclude each other");
    }
    if (!a_.no_sidecar) {
      SidecarOptions so;
      so.mode = a_.overwrite ? SidecarMode::kOverwrite
                             : a_.append ? SidecarMode::kAppend : SidecarMode::kSkipExisting;
      so.extension = a_.caption_ext;
      opt.sidecar = so;
    }
    return {};
  }

  // --model: a folder holding model.onnx + selected_tags.csv, or an id under the models dir.
  StatusOr<ModelFolder> resolve_model(const std::string& model, const std::string& models_dir) const override {
    if (model.empty()) {
      return Status::invalid_argument("--model is required (a WD14 folder, or an id under {})",
                                      models_dir);
    }
    if (Wd14Tagger::is_model_dir(model)) return ModelFolder{model, model_id_of(model)};
    fs::path under = fs::path(models_dir) / model;
    if (Wd14Tagger::is_model_dir(under)) return ModelFolder{under, model_id_of(under)};
    return Status::not_found("model '{}': neither a folder with {} + {} nor an id under {}", model,
                             Wd14Tagger::kModelFile, Wd14Tagger::kTagsFile, models_dir);
  }

  TagRunSettings index_settings(const std::string& model_id) const override {
    return {.model_id = model_id,
            .general_threshold = tag_.general_threshold,
            .character_threshold = tag_.character_threshold,
            .general_mcut = tag_.general_mcut,
            .character_mcut = tag_.character_mcut};
  }

  BatchModel<TagResult>& batch_model(const Wd14Tagger& model, TaggerContext& context) override {
    return model_.emplace(tagger_.emplace(model, context), tag_);
  }

  std::string record(const std::string& path, const TagResult& r) const override {
    return tag_record_json(path, r);
  }

  const TagArgs& a_;
  TagOptions tag_;
  std::optional<Wd14TileTagger> tagger_;
  std::optional<TaggerBatchModel> model_;
};

}  // namespace

void register_tag(CLI::App& app, CliContext& ctx) {
  auto a = std::make_shared<TagArgs>();
  CLI::App* cmd = app.add_subcommand("tag", "tag images or folders with a WD14 tagger");
  add_batch_input_flags(cmd, *a, "WD14 folder (model.onnx + selected_tags.csv) or an id under --models-dir");
  cmd->add_flag("--skip-existing", a->skip_existing, "keep images whose sidecar exists untouched (default)");
  cmd->add_flag("--overwrite", a->overwrite, "replace existing sidecars");
  cmd->add_flag("--append", a->append, "add missing tags to existing sidecars");
  cmd->add_flag("--no-sidecar", a->no_sidecar, "write no sidecar files");
  cmd->add_option("--caption-ext", a->caption_ext, "sidecar extension")->capture_default_str();
  add_batch_output_flags(cmd, *a, "SQLite tag index: skip unchanged images, resume after a crash");
  cmd->add_option("--threshold", a->threshold, "general tag threshold (p > t)")->capture_default_str();
  cmd->add_option("--character-threshold", a->character_threshold, "character tag threshold")->capture_default_str();
  cmd->add_flag("--mcut", a->mcut, "MCut thresholds for general and character tags (character floor 0.15)");
  cmd->add_flag("--mcut-general", a->mcut_general, "MCut for general tags only");
  cmd->add_flag("--mcut-character", a->mcut_character, "MCut for character tags only");
  cmd->add_option("--characters", a->characters, "character tags in the text: omit | first | last")->capture_default_str();
  cmd->add_option("--rating-tag", a->rating_tag, "the top rating as a tag: omit | first | last")->capture_default_str();
  cmd->add_option("--exclude", a->exclude, "comma-separated tags to leave out (CSV or display names)");
  cmd->add_flag("--no-escape", a->no_escape, "do not escape ( and ) in the text");
  cmd->add_flag("--keep-underscores", a->keep_underscores, "keep the CSV names (no _ -> space)");
  add_batch_run_flags(cmd, *a, ctx);
  cmd->callback([&ctx, a] { ctx.exit_code = TagCommand(*a).run(ctx); });
}

}  // namespace seer::cli
