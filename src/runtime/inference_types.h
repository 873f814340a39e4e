// Typed requests and results that travel between the server, the scheduler and a ModelBackend.
// No JSON below src/server/: the server parses JSON into these and formats them back.
//
//   TagRequest tag;
//   tag.image.encoded = std::move(jpeg_bytes);         // the server base64-decoded it
//   tag.options.general_threshold = 0.5;
//   InferenceRequest req = std::move(tag);
//   SEER_RETURN_IF_ERROR(backend.prepare(req));        // decodes into req's tile, drops `encoded`
//   ... scheduler runs it in a batch ...
//   const TagOutput& out = std::get<TagOutput>(result);
//
// Plain values; not thread-safe by themselves (a request is owned by one job at a time).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "memory/ledger.h"

namespace seer {

// A decoded, model-ready image: what waits in queues instead of the photo (DESIGN.md, step 2).
// `pixels` is a ledger Buffer so the bytes waiting in queues are accounted (tag decode/queue).
struct ImageTile {
  int width = 0;
  int height = 0;
  int channels = 0;  // 3 (the family decides the channel order, e.g. BGR for WD14)
  Buffer pixels;     // width * height * channels bytes, row-major, interleaved
};

// An image as it arrives (encoded bytes) and, after ModelBackend::prepare, as a tile.
struct ImageInput {
  std::string encoded;              // PNG/JPEG/... bytes; cleared by prepare()
  std::optional<ImageTile> tile;    // set by prepare()
};

// Tagging options a request may set; absent fields keep the model's defaults.
struct TagParams {
  std::optional<double> general_threshold;
  std::optional<double> character_threshold;
  std::optional<bool> mcut;  // MCut for the general (and, floored, character) block
};

struct TagRequest {
  ImageInput image;
  TagParams params;
};

struct ClassifyRequest {
  ImageInput image;
  std::optional<int> top_k;
};

// Free text about an image: a caption (prompt empty) or an answer to `prompt`. A tagger answers
// with its tag text. `on_token`, when set, receives the text as it is produced (streaming); it
// returns false when the client went away, and the backend should then stop early.
struct TextRequest {
  ImageInput image;
  std::string prompt;              // empty: caption
  std::string length = "normal";   // "short" | "normal" | "long" (Moondream caption lengths)
  int max_tokens = 0;              // 0: the model's default
  std::function<bool(std::string_view)> on_token;
};

using InferenceRequest = std::variant<TagRequest, ClassifyRequest, TextRequest>;

// The image of any request (every request kind carries exactly one).
ImageInput& image_of(InferenceRequest& request);
const ImageInput& image_of(const InferenceRequest& request);
// "tag", "classify", "text".
std::string_view request_kind(const InferenceRequest& request);

struct ScoredLabel {
  std::string label;
  float score = 0;
};

// The record `seer tag --jsonl` writes: ratings, general and character tags, and the text.
struct TagOutput {
  std::vector<ScoredLabel> ratings;    // every rating row in CSV order
  std::vector<ScoredLabel> general;    // kept general tags, score descending
  std::vector<ScoredLabel> character;  // kept character tags, score descending
  std::string text;                    // "tag, tag, ..." (the caption of a tagger)
};

struct ClassifyOutput {
  std::string label;                     // top-1
  float score = 0;
  std::vector<ScoredLabel> predictions;  // every class, score descending
};

struct TextOutput {
  std::string text;
  int tokens = 0;  // generated tokens (0 when the model does not count them)
};

using InferenceResult = std::variant<TagOutput, ClassifyOutput, TextOutput>;

}  // namespace seer
