// JSON <-> typed calls for the HTTP API. The only place request JSON is read and response JSON is
// built; nothing below src/server/ sees JSON. Pure functions (no I/O), thread-safe.
//
//   SEER_ASSIGN_OR_RETURN(nlohmann::json body, parse_json_body(req.body));
//   SEER_ASSIGN_OR_RETURN(TagCall call, parse_tag_call(body, limits));
//   ... run call.images through the scheduler as TagRequests ...
//   res.set_content(tag_record(output).dump(), "application/json");
//
// Shapes (issue 7, ../shared/ref/servers.md):
//   POST /v1/tag                {"image"|"images", "model", "general_threshold", "character_threshold", "mcut"}
//   POST /v1/vision/batch-caption {"images": [...], "model"}  -> {"captions":[{"text"}],"count","duration"}
//   POST /v1/caption            {"image_url", "length", "stream", "model"} -> {"caption", "_stats"}
//   POST /v1/chat/completions   OpenAI: the last user message's text and image_url parts, "stream"
//   POST /v1/classify           {"image"|"images", "model", "top_k"}
// Images are data URIs or raw base64 (core/base64.h). Every failure is InvalidArgument naming
// the field, or PayloadTooLarge naming the limit.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "runtime/inference_types.h"
#include "server/server_context.h"

namespace seer {

using OrderedJson = nlohmann::ordered_json;

// Parses a request body that must be a JSON object (an empty body is an empty object).
StatusOr<nlohmann::json> parse_json_body(const std::string& body);

// Common fields: "model" (optional: absent means the server picks) and "timeout" (seconds).
struct CallCommon {
  std::string model;
  std::optional<double> timeout_s;
};

struct TagCall {
  CallCommon common;
  std::vector<std::string> images;  // decoded bytes
  bool single = true;               // "image" (one record) vs "images" (a list)
  TagParams params;
};
struct ClassifyCall {
  CallCommon common;
  std::vector<std::string> images;
  bool single = true;
  std::optional<int> top_k;
};
struct CaptionCall {
  CallCommon common;
  std::string image;
  std::string length = "normal";
  bool stream = false;
};
struct ChatCall {
  CallCommon common;
  std::optional<std::string> image;  // the last image_url part of the last user message
  std::string text;                  // its text parts, joined by "\n"
  bool stream = false;
  int max_tokens = 0;
};

StatusOr<TagCall> parse_tag_call(const nlohmann::json& body, const ServerLimits& limits);
StatusOr<TagCall> parse_batch_caption_call(const nlohmann::json& body, const ServerLimits& limits);
StatusOr<ClassifyCall> parse_classify_call(const nlohmann::json& body, const ServerLimits& limits);
// `body` may come from JSON or from form fields / multipart (the route normalises them).
StatusOr<CaptionCall> parse_caption_call(const nlohmann::json& body, const ServerLimits& limits);
StatusOr<ChatCall> parse_chat_call(const nlohmann::json& body, const ServerLimits& limits);

// Decodes one image field (data URI or base64) and checks the size limit.
StatusOr<std::string> decode_image(const nlohmann::json& value, const std::string& field,
                                   const ServerLimits& limits);

// {"rating": {"general": 0.9, ...}, "general": [{"tag", "score"}], "character": [...], "text"}:
// the `seer tag --jsonl` record without its "path" (cli/tag_record_json builds on this), tags in
// the result's order (score descending), scores as float32 widened to double.
OrderedJson tag_record(const TagOutput& out);
// {"label", "score", "predictions": [{"label", "score"}]}
OrderedJson classify_record(const ClassifyOutput& out);
// The caption text of any result (a tagger's tag text, a classifier's top label).
std::string result_text(const InferenceResult& result);
// {"error": {"code": "NotFound", "message": "..."}}
OrderedJson error_body(const Status& status);
// Moondream Station's _stats: whitespace-split word count, seconds, words per second.
OrderedJson text_stats(const std::string& text, double seconds);

}  // namespace seer
