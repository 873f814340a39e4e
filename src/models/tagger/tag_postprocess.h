// WD14 post-processing: model probabilities -> ratings, general and character tags, caption text.
//
//   TagOptions opt;                      // Space defaults: general 0.35, character 0.85, no MCut
//   opt.general_mcut = true;
//   SEER_ASSIGN_OR_RETURN(TagResult r, postprocess_tags(probs_of_one_image, tag_list, opt));
//   write_sidecar(path, r.text);
//
// Semantics are those of the SmilingWolf wd-tagger Space (`Predictor.predict`, models.md §1.7):
// - the input is already a probability (the ONNX graph ends in a sigmoid): nothing is re-applied;
// - scores are compared as doubles (the Space does `preds.astype(float)`), strictly: `p > t`;
// - MCut per block (sort desc, largest gap between neighbours, first gap on ties, midpoint);
//   for characters the MCut threshold is floored at 0.15; a block with < 2 rows keeps the fixed
//   threshold (the Space would raise there);
// - names: underscores -> spaces except the kaomoji list; a name that repeats inside a block
//   keeps its first position and its last score (the Space builds a dict);
// - tags sorted by score descending, ties in CSV order (Python's stable sort);
// - text: ", "-joined general tags, then `(` -> `\(` and `)` -> `\)`.
// Options beyond the Space (defaults keep the Space's output), as the tools in models.md
// §1.5/§1.8 offer: characters in the text (before or after the general tags), the top rating
// (argmax, first on ties) as a tag, an exclude list, no escaping, raw CSV names.
//
// Pure functions; thread-safe.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "models/tagger/tag_list.h"

namespace seer {

enum class TextPlacement {
  kOmit,    // not in the text (Space: the text holds general tags only)
  kFirst,   // before the general tags
  kLast,    // after the general tags
};
std::string_view to_string(TextPlacement p);

struct TagOptions {
  double general_threshold = 0.35;
  double character_threshold = 0.85;
  bool general_mcut = false;
  bool character_mcut = false;  // MCut, floored at kCharacterMcutFloor
  TextPlacement characters_in_text = TextPlacement::kOmit;
  TextPlacement rating_in_text = TextPlacement::kOmit;  // the top rating as a tag
  bool replace_underscores = true;  // false: CSV names everywhere (ComfyUI's default)
  bool escape_parentheses = true;   // in `text` only
  // Tags dropped from general, character and the text. An entry matches a tag when it equals its
  // CSV name or its display name, ASCII case-insensitively, ignoring surrounding blanks.
  std::vector<std::string> exclude;
};

inline constexpr double kCharacterMcutFloor = 0.15;

struct ScoredTag {
  std::string tag;  // display name (or CSV name when !replace_underscores); never escaped
  float score = 0;  // the model's probability, unchanged
};

struct TagResult {
  std::vector<ScoredTag> ratings;    // every rating row in CSV order (general, sensitive, ...)
  std::vector<ScoredTag> general;    // kept general tags, score descending
  std::vector<ScoredTag> character;  // kept character tags, score descending
  std::vector<std::string> text_tags;  // the caption's items in order, escaped as options say
  std::string text;                    // text_tags joined with ", "
};

// The MCut threshold of a set of probabilities (Largeron et al. 2012), as the Space computes it.
// Requires probs.size() >= 2.
double mcut_threshold(std::span<const double> probs);

// Post-processes one image's output row. InvalidArgument when probs.size() != tags.size().
StatusOr<TagResult> postprocess_tags(std::span<const float> probs, const TagList& tags,
                                     const TagOptions& options);

}  // namespace seer
