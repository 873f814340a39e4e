// The label list of a WD14 tagger: `selected_tags.csv` parsed into names and categories.
//
//   SEER_ASSIGN_OR_RETURN(TagList tags, TagList::load("/models/wd-vit-tagger-v3/selected_tags.csv"));
//   SEER_RETURN_IF_ERROR(tags.check_class_count(model_output_width));
//   for (uint32_t i : tags.general_indices()) use(tags.entry(i).display_name);
//
// The file is real CSV (csv_reader.h): v3 lists hold names such as `don't_say_"lazy"` (quoted,
// with doubled quotes), `\m/` and `double_\m/`. The header `tag_id,name,category,count` is
// detected and its `name` and `category` columns are used wherever they are; without a header,
// columns 1 and 2 are name and category. Categories come from that column (9 rating, 0 general,
// 4 character), never from row ranges; rows of any other category (3 copyright, 1 artist, ...)
// are kept, so indices still match the model output, but are never emitted.
//
// Immutable after construction; safe to share between threads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace seer {

// Danbooru category codes as used by the WD14 CSVs.
enum class TagCategory : int32_t {
  kGeneral = 0,
  kArtist = 1,
  kCopyright = 3,
  kCharacter = 4,
  kMeta = 5,
  kRating = 9,
};

struct TagEntry {
  std::string name;          // as in the CSV: "long_hair", "^_^"
  std::string display_name;  // underscores -> spaces unless a kaomoji: "long hair", "^_^"
  int32_t category = 0;      // the raw code from the CSV
};

// The 19 names whose underscores are kept (models.md §1.7: toriato ui.py, picobyte DEFAULT_KAMOJIS).
bool is_kaomoji(std::string_view name);
// "long_hair" -> "long hair"; kaomoji unchanged.
std::string display_name_for(std::string_view csv_name);

class TagList {
 public:
  // Parses CSV text; `source` names the file in error messages ("selected_tags.csv: line 12: ...").
  // InvalidArgument on malformed CSV, a missing column, a non-integer category or an empty name.
  static StatusOr<TagList> parse(std::string_view text, std::string_view source = "selected_tags.csv");
  // Reads and parses a file (NotFound when it does not exist).
  static StatusOr<TagList> load(const std::filesystem::path& path);

  // InvalidArgument unless the model's output width equals the number of rows.
  Status check_class_count(int64_t model_classes) const;

  size_t size() const { return entries_.size(); }
  const TagEntry& entry(size_t i) const { return entries_[i]; }
  const std::vector<TagEntry>& entries() const { return entries_; }
  // Row indices (= model output indices) per emitted category, in CSV order.
  const std::vector<uint32_t>& rating_indices() const { return rating_; }
  const std::vector<uint32_t>& general_indices() const { return general_; }
  const std::vector<uint32_t>& character_indices() const { return character_; }

 private:
  std::vector<TagEntry> entries_;
  std::vector<uint32_t> rating_, general_, character_;
};

}  // namespace seer
