#include "cli/tag_record_json.h"

#include <nlohmann/json.hpp>

#include "runtime/tagger_backend.h"
#include "server/api_json.h"

namespace seer::cli {
namespace {

using Json = nlohmann::ordered_json;

std::string dump(const Json& j) {
  return j.dump(-1, ' ', /*ensure_ascii=*/false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::string tag_record_json(std::string_view path, const TagResult& result) {
  // One formatter for the JSONL line and the /v1/tag body (server/api_json.h): path first, then
  // the record's keys in its order.
  Json j;
  j["path"] = std::string(path);
  Json rec = tag_record(to_tag_output(result));
  for (auto& [key, value] : rec.items()) j[key] = std::move(value);
  return dump(j);
}

std::string classify_record_json(std::string_view path, const ClassifyOutput& result) {
  Json j;
  j["path"] = std::string(path);
  Json rec = classify_record(result);
  for (auto& [key, value] : rec.items()) j[key] = std::move(value);
  return dump(j);
}

std::string tag_error_json(std::string_view path, std::string_view error) {
  Json j;
  j["path"] = std::string(path);
  j["error"] = std::string(error);
  return dump(j);
}

}  // namespace seer::cli
