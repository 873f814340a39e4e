#include "server/api_json.h"

#include <cmath>
#include <sstream>

#include "core/base64.h"
#include "memory/ledger.h"

namespace seer {

using nlohmann::json;

StatusOr<json> parse_json_body(const std::string& body) {
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) return json::object();
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::invalid_argument("the request body is not valid JSON");
  if (!j.is_object()) return Status::invalid_argument("the request body must be a JSON object");
  return j;
}

namespace {

StatusOr<CallCommon> parse_common(const json& body) {
  CallCommon c;
  if (auto it = body.find("model"); it != body.end() && !it->is_null()) {
    if (!it->is_string()) return Status::invalid_argument("'model' must be a string");
    c.model = it->get<std::string>();
  }
  if (auto it = body.find("timeout"); it != body.end() && !it->is_null()) {
    if (!it->is_number() || it->get<double>() <= 0) {
      return Status::invalid_argument("'timeout' must be a positive number of seconds");
    }
    c.timeout_s = it->get<double>();
  }
  return c;
}

StatusOr<std::optional<double>> optional_number(const json& body, const char* key, double lo, double hi) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::optional<double>();
  if (!it->is_number()) return Status::invalid_argument("'{}' must be a number", key);
  const double v = it->get<double>();
  if (!(v >= lo && v <= hi)) return Status::invalid_argument("'{}' must be in [{}, {}], got {}", key, lo, hi, v);
  return std::optional<double>(v);
}

StatusOr<bool> optional_bool(const json& body, const char* key, bool fallback) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return fallback;
  if (it->is_boolean()) return it->get<bool>();
  if (it->is_string()) {  // form fields arrive as text
    const auto s = it->get<std::string>();
    if (s == "true" || s == "1") return true;
    if (s == "false" || s == "0" || s.empty()) return false;
  }
  return Status::invalid_argument("'{}' must be true or false", key);
}

// "image" (one) or "images" (a list): exactly one of them.
Status parse_images(const json& body, const ServerLimits& limits, std::vector<std::string>& out, bool& single) {
  const bool has_one = body.contains("image") && !body["image"].is_null();
  const bool has_many = body.contains("images") && !body["images"].is_null();
  if (has_one == has_many) return Status::invalid_argument("give exactly one of 'image' or 'images'");
  single = has_one;
  if (has_one) {
    SEER_ASSIGN_OR_RETURN(std::string bytes, decode_image(body["image"], "image", limits));
    out.push_back(std::move(bytes));
    return {};
  }
  const json& arr = body["images"];
  if (!arr.is_array() || arr.empty()) return Status::invalid_argument("'images' must be a non-empty array");
  if (arr.size() > static_cast<size_t>(limits.max_images)) {
    return Status::payload_too_large("'images' holds {} images; the limit is {}", arr.size(), limits.max_images);
  }
  for (size_t i = 0; i < arr.size(); ++i) {
    SEER_ASSIGN_OR_RETURN(std::string bytes, decode_image(arr[i], fmt::format("images[{}]", i), limits));
    out.push_back(std::move(bytes));
  }
  return {};
}

}  // namespace

StatusOr<std::string> decode_image(const json& value, const std::string& field, const ServerLimits& limits) {
  if (!value.is_string()) return Status::invalid_argument("'{}' must be a string (a data URI or base64)", field);
  const auto& text = value.get_ref<const std::string&>();
  if (text.empty()) return Status::invalid_argument("'{}' is empty", field);
  // base64 is 4/3 of the bytes: refuse before decoding what would be too large anyway.
  if (text.size() / 4 * 3 > limits.max_image_bytes + 3) {
    return Status::payload_too_large("'{}' is larger than the image limit of {}", field,
                                     format_bytes(limits.max_image_bytes));
  }
  auto bytes = decode_data_uri_or_base64(text);
  if (!bytes.ok()) return bytes.status().with_context(fmt::format("'{}'", field));
  if (bytes->empty()) return Status::invalid_argument("'{}' decodes to no bytes", field);
  if (bytes->size() > limits.max_image_bytes) {
    return Status::payload_too_large("'{}' is {} bytes; the image limit is {}", field, bytes->size(),
                                     format_bytes(limits.max_image_bytes));
  }
  return std::move(bytes).value();
}

StatusOr<TagCall> parse_tag_call(const json& body, const ServerLimits& limits) {
  TagCall c;
  SEER_ASSIGN_OR_RETURN(c.common, parse_common(body));
  SEER_RETURN_IF_ERROR(parse_images(body, limits, c.images, c.single));
  SEER_ASSIGN_OR_RETURN(c.params.general_threshold, optional_number(body, "general_threshold", 0, 1));
  SEER_ASSIGN_OR_RETURN(c.params.character_threshold, optional_number(body, "character_threshold", 0, 1));
  if (body.contains("mcut")) {
    SEER_ASSIGN_OR_RETURN(bool mcut, optional_bool(body, "mcut", false));
    c.params.mcut = mcut;
  }
  return c;
}

StatusOr<TagCall> parse_batch_caption_call(const json& body, const ServerLimits& limits) {
  TagCall c;
  SEER_ASSIGN_OR_RETURN(c.common, parse_common(body));
  if (!body.contains("images")) return Status::invalid_argument("'images' is required");
  json only_images = json::object();
  only_images["images"] = body["images"];
  SEER_RETURN_IF_ERROR(parse_images(only_images, limits, c.images, c.single));
  return c;
}

StatusOr<ClassifyCall> parse_classify_call(const json& body, const ServerLimits& limits) {
  ClassifyCall c;
  SEER_ASSIGN_OR_RETURN(c.common, parse_common(body));
  SEER_RETURN_IF_ERROR(parse_images(body, limits, c.images, c.single));
  SEER_ASSIGN_OR_RETURN(auto k, optional_number(body, "top_k", 1, 100000));
  if (k) c.top_k = static_cast<int>(*k);
  return c;
}

StatusOr<CaptionCall> parse_caption_call(const json& body, const ServerLimits& limits) {
  CaptionCall c;
  SEER_ASSIGN_OR_RETURN(c.common, parse_common(body));
  // Moondream Station's field is image_url; "image" is accepted as well.
  const char* field = body.contains("image_url") ? "image_url" : "image";
  if (!body.contains(field)) return Status::invalid_argument("'image_url' is required (a data URI or base64)");
  SEER_ASSIGN_OR_RETURN(c.image, decode_image(body[field], field, limits));
  if (auto it = body.find("length"); it != body.end() && !it->is_null()) {
    if (!it->is_string()) return Status::invalid_argument("'length' must be \"short\", \"normal\" or \"long\"");
    c.length = it->get<std::string>();
    if (c.length != "short" && c.length != "normal" && c.length != "long") {
      return Status::invalid_argument("'length' must be \"short\", \"normal\" or \"long\", got \"{}\"", c.length);
    }
  }
  SEER_ASSIGN_OR_RETURN(c.stream, optional_bool(body, "stream", false));
  return c;
}

StatusOr<ChatCall> parse_chat_call(const json& body, const ServerLimits& limits) {
  ChatCall c;
  SEER_ASSIGN_OR_RETURN(c.common, parse_common(body));
  SEER_ASSIGN_OR_RETURN(c.stream, optional_bool(body, "stream", false));
  for (const char* key : {"max_tokens", "max_completion_tokens"}) {
    SEER_ASSIGN_OR_RETURN(auto n, optional_number(body, key, 1, 1 << 20));
    if (n) c.max_tokens = static_cast<int>(*n);
  }
  auto msgs = body.find("messages");
  if (msgs == body.end() || !msgs->is_array() || msgs->empty()) {
    return Status::invalid_argument("'messages' must be a non-empty array");
  }
  // The last user message carries the question and the image (as the fork does).
  const json* last_user = nullptr;
  for (const auto& m : *msgs) {
    if (!m.is_object()) return Status::invalid_argument("every message must be an object");
    if (m.value("role", "") == "user") last_user = &m;
  }
  if (!last_user) return Status::invalid_argument("'messages' holds no user message");
  const json& content = (*last_user).contains("content") ? (*last_user)["content"] : json();
  if (content.is_string()) {
    c.text = content.get<std::string>();
  } else if (content.is_array()) {
    for (size_t i = 0; i < content.size(); ++i) {
      const json& part = content[i];
      const std::string type = part.is_object() ? part.value("type", "") : "";
      if (type == "text") {
        if (!part.contains("text") || !part["text"].is_string()) {
          return Status::invalid_argument("content[{}]: a text part needs a string 'text'", i);
        }
        c.text += (c.text.empty() ? "" : "\n") + part["text"].get<std::string>();
      } else if (type == "image_url") {
        const json& iu = part.contains("image_url") ? part["image_url"] : json();
        const json url = iu.is_object() ? iu.value("url", json()) : iu;
        SEER_ASSIGN_OR_RETURN(std::string bytes, decode_image(url, fmt::format("content[{}].image_url.url", i), limits));
        c.image = std::move(bytes);
      } else {
        return Status::invalid_argument("content[{}]: unsupported part type '{}'", i, type);
      }
    }
  } else {
    return Status::invalid_argument("the user message's 'content' must be a string or an array of parts");
  }
  return c;
}

namespace {
// Scores are float32 widened to double (exact), so nlohmann prints the shortest decimal that
// reads back as the same float, as Python's json.dumps(float(np.float32(p))) does.
OrderedJson tag_array(const std::vector<ScoredLabel>& labels) {
  OrderedJson a = OrderedJson::array();
  for (const auto& l : labels) a.push_back(OrderedJson{{"tag", l.label}, {"score", static_cast<double>(l.score)}});
  return a;
}
}  // namespace

OrderedJson tag_record(const TagOutput& out) {
  OrderedJson o;
  OrderedJson rating = OrderedJson::object();
  for (const auto& r : out.ratings) rating[r.label] = static_cast<double>(r.score);
  o["rating"] = std::move(rating);
  o["general"] = tag_array(out.general);
  o["character"] = tag_array(out.character);
  o["text"] = out.text;
  return o;
}

OrderedJson classify_record(const ClassifyOutput& out) {
  OrderedJson o;
  o["label"] = out.label;
  o["score"] = out.score;
  OrderedJson preds = OrderedJson::array();
  for (const auto& p : out.predictions) preds.push_back({{"label", p.label}, {"score", p.score}});
  o["predictions"] = std::move(preds);
  return o;
}

std::string result_text(const InferenceResult& result) {
  struct Text {
    std::string operator()(const TagOutput& t) const { return t.text; }
    std::string operator()(const ClassifyOutput& c) const { return c.label; }
    std::string operator()(const TextOutput& t) const { return t.text; }
  };
  return std::visit(Text{}, result);
}

OrderedJson error_body(const Status& status) {
  OrderedJson o;
  o["error"]["code"] = std::string(to_string(status.code()));
  o["error"]["message"] = status.message();
  return o;
}

OrderedJson text_stats(const std::string& text, double seconds) {
  std::istringstream in(text);
  int words = 0;
  for (std::string w; in >> w;) words++;
  OrderedJson o;
  o["tokens"] = words;
  o["duration"] = std::round(seconds * 1000) / 1000;
  o["tokens_per_sec"] = seconds > 0 ? std::round(words / seconds * 100) / 100 : 0.0;
  return o;
}

}  // namespace seer
