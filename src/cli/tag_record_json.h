// The JSONL records of `seer tag --jsonl FILE` (issue 6) and `seer classify --jsonl FILE`
// (issue 8): one line per image.
//
//   out << tag_record_json("/p/cat.jpg", result) << '\n';
//   out << tag_error_json("/p/broken.jpg", "InvalidArgument: not an image") << '\n';
//
// Keys, in this order: path, rating {<rating name>: p, ...} (general, sensitive, questionable,
// explicit for WD14 lists), general [{tag, score}], character [{tag, score}], text. Tags are in
// TagResult order (score descending) with their display names (not escaped); text is the caption
// exactly as in the sidecar. A failed image is {"path", "error"}.
// Scores are the model's float32 probabilities printed as the shortest decimal that reads back
// as the same double (nlohmann's grisu2), hence as the same float: 0.35f prints as
// 0.3499999940395355, as Python's json.dumps(float(np.float32(0.35))) does.
// Paths and tags that are not valid UTF-8 have their bad bytes replaced by U+FFFD (JSON cannot
// carry raw bytes). One line, no trailing newline. Thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "models/tagger/tag_postprocess.h"
#include "runtime/inference_types.h"

namespace seer::cli {

std::string tag_record_json(std::string_view path, const TagResult& result);
std::string tag_error_json(std::string_view path, std::string_view error);

// The record of `seer classify --jsonl FILE` (issue 8): {"path", "label", "score",
// "predictions": [{"label", "score"}, ...]} with every class, score descending; label and score
// are the top class's. The same body as POST /v1/classify plus "path". A failed image is
// tag_error_json's {"path", "error"}.
// (ClassifyOutput rather than the classifier's own ClassifyResult: this file includes the server's
// formatter, whose headers cannot meet image/preprocess.h's in one translation unit.)
std::string classify_record_json(std::string_view path, const ClassifyOutput& result);

}  // namespace seer::cli
