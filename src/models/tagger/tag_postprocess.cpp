#include "models/tagger/tag_postprocess.h"

#include <algorithm>
#include <functional>
#include <unordered_map>

namespace seer {
namespace {

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string normalize_for_match(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

class ExcludeSet {
 public:
  explicit ExcludeSet(const std::vector<std::string>& entries) {
    for (const auto& e : entries) {
      std::string n = normalize_for_match(e);
      if (!n.empty()) names_.push_back(std::move(n));
    }
  }
  bool matches(const TagEntry& e) const {
    if (names_.empty()) return false;
    std::string a = normalize_for_match(e.name), b = normalize_for_match(e.display_name);
    return std::any_of(names_.begin(), names_.end(),
                       [&](const std::string& n) { return n == a || n == b; });
  }

 private:
  std::vector<std::string> names_;
};

// One block (general or character): threshold (fixed or MCut), filter, dict-like dedup, sort.
std::vector<ScoredTag> select_block(std::span<const float> probs, const TagList& tags,
                                    const std::vector<uint32_t>& indices, double threshold,
                                    bool mcut, double mcut_floor, const TagOptions& options,
                                    const ExcludeSet& exclude) {
  if (mcut && indices.size() >= 2) {
    std::vector<double> block(indices.size());
    for (size_t i = 0; i < indices.size(); ++i) block[i] = probs[indices[i]];
    threshold = std::max(mcut_floor, mcut_threshold(block));
  }
  std::vector<ScoredTag> kept;
  std::unordered_map<std::string_view, size_t> position;  // name -> slot in `kept`
  std::vector<const TagEntry*> kept_entry;
  for (uint32_t i : indices) {
    const float p = probs[i];
    if (!(static_cast<double>(p) > threshold)) continue;
    const TagEntry& e = tags.entry(i);
    const std::string& name = options.replace_underscores ? e.display_name : e.name;
    auto [it, inserted] = position.try_emplace(name, kept.size());
    if (inserted) {
      kept.push_back({name, p});
      kept_entry.push_back(&e);
    } else {
      kept[it->second].score = p;  // Python dict: first position, last value
    }
  }
  // Exclusion is a user filter on the Space's result, so it runs after thresholding (and MCut
  // was computed over the whole block).
  std::vector<ScoredTag> out;
  out.reserve(kept.size());
  for (size_t k = 0; k < kept.size(); ++k) {
    if (!exclude.matches(*kept_entry[k])) out.push_back(std::move(kept[k]));
  }
  std::stable_sort(out.begin(), out.end(), [](const ScoredTag& a, const ScoredTag& b) {
    return static_cast<double>(a.score) > static_cast<double>(b.score);
  });
  return out;
}

void append_items(std::vector<std::string>* items, const std::vector<ScoredTag>& tags,
                  bool escape) {
  for (const auto& t : tags) {
    std::string item;
    item.reserve(t.tag.size() + 4);
    for (char c : t.tag) {
      // The Space escapes after joining; ", " holds no parenthesis, so per item is the same.
      if (escape && (c == '(' || c == ')')) item.push_back('\\');
      item.push_back(c);
    }
    items->push_back(std::move(item));
  }
}

}  // namespace

std::string_view to_string(TextPlacement p) {
  switch (p) {
    case TextPlacement::kOmit: return "omit";
    case TextPlacement::kFirst: return "first";
    case TextPlacement::kLast: return "last";
  }
  return "?";
}

double mcut_threshold(std::span<const double> probs) {
  std::vector<double> sorted(probs.begin(), probs.end());
  std::sort(sorted.begin(), sorted.end(), std::greater<double>());
  // numpy argmax: the first index of the largest difference.
  size_t t = 0;
  double best = sorted[0] - sorted[1];
  for (size_t i = 1; i + 1 < sorted.size(); ++i) {
    double d = sorted[i] - sorted[i + 1];
    if (d > best) {
      best = d;
      t = i;
    }
  }
  return (sorted[t] + sorted[t + 1]) / 2;
}

StatusOr<TagResult> postprocess_tags(std::span<const float> probs, const TagList& tags,
                                     const TagOptions& options) {
  if (probs.size() != tags.size()) {
    return Status::invalid_argument("tagger output has {} values, the tag list has {} rows",
                                    probs.size(), tags.size());
  }
  const ExcludeSet exclude(options.exclude);
  TagResult r;
  r.ratings.reserve(tags.rating_indices().size());
  for (uint32_t i : tags.rating_indices()) {
    const TagEntry& e = tags.entry(i);
    r.ratings.push_back({options.replace_underscores ? e.display_name : e.name, probs[i]});
  }
  r.general = select_block(probs, tags, tags.general_indices(), options.general_threshold,
                           options.general_mcut, /*mcut_floor=*/-1.0, options, exclude);
  r.character = select_block(probs, tags, tags.character_indices(), options.character_threshold,
                             options.character_mcut, kCharacterMcutFloor, options, exclude);

  std::vector<ScoredTag> rating_tag;
  if (options.rating_in_text != TextPlacement::kOmit && !r.ratings.empty()) {
    size_t best = 0;  // argmax, first on ties
    for (size_t i = 1; i < r.ratings.size(); ++i) {
      if (r.ratings[i].score > r.ratings[best].score) best = i;
    }
    if (!exclude.matches(tags.entry(tags.rating_indices()[best]))) rating_tag.push_back(r.ratings[best]);
  }
  const bool esc = options.escape_parentheses;
  auto& items = r.text_tags;
  if (options.rating_in_text == TextPlacement::kFirst) append_items(&items, rating_tag, esc);
  if (options.characters_in_text == TextPlacement::kFirst) append_items(&items, r.character, esc);
  append_items(&items, r.general, esc);
  if (options.characters_in_text == TextPlacement::kLast) append_items(&items, r.character, esc);
  if (options.rating_in_text == TextPlacement::kLast) append_items(&items, rating_tag, esc);
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) r.text.append(", ");
    r.text.append(items[i]);
  }
  return r;
}

}  // namespace seer
