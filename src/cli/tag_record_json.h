// The JSONL record of `seer tag --jsonl FILE`: one line per image (issue 6).
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

namespace seer::cli {

std::string tag_record_json(std::string_view path, const TagResult& result);
std::string tag_error_json(std::string_view path, std::string_view error);

}  // namespace seer::cli
