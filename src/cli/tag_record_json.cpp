#include "cli/tag_record_json.h"

#include <nlohmann/json.hpp>

namespace seer::cli {
namespace {

using Json = nlohmann::ordered_json;

Json tag_array(const std::vector<ScoredTag>& tags) {
  Json a = Json::array();
  for (const auto& t : tags) {
    // The float widened to double: exact, so the printed shortest form round-trips to it.
    a.push_back(Json{{"tag", t.tag}, {"score", static_cast<double>(t.score)}});
  }
  return a;
}

std::string dump(const Json& j) {
  return j.dump(-1, ' ', /*ensure_ascii=*/false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::string tag_record_json(std::string_view path, const TagResult& result) {
  Json j;
  j["path"] = std::string(path);
  Json rating = Json::object();
  for (const auto& r : result.ratings) rating[r.tag] = static_cast<double>(r.score);
  j["rating"] = std::move(rating);
  j["general"] = tag_array(result.general);
  j["character"] = tag_array(result.character);
  j["text"] = result.text;
  return dump(j);
}

std::string tag_error_json(std::string_view path, std::string_view error) {
  Json j;
  j["path"] = std::string(path);
  j["error"] = std::string(error);
  return dump(j);
}

}  // namespace seer::cli
