#include "models/tagger/tag_pipeline.h"

#include "models/tagger/tag_list.h"

namespace seer {

IndexEntry tag_index_entry(const TagResult& r) {
  IndexEntry e;
  e.text = r.text;
  e.scores.reserve(r.ratings.size() + r.general.size() + r.character.size());
  auto add = [&](TagCategory category, const std::vector<ScoredTag>& tags) {
    for (const ScoredTag& t : tags) e.scores.push_back({static_cast<int>(category), t.tag, t.score});
  };
  add(TagCategory::kRating, r.ratings);
  add(TagCategory::kGeneral, r.general);
  add(TagCategory::kCharacter, r.character);
  return e;
}

}  // namespace seer
