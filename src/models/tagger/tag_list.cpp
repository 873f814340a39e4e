#include "models/tagger/tag_list.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <fstream>
#include <sstream>

#include "models/tagger/csv_reader.h"

namespace seer {
namespace {

// Copied from models.md §1.7 (toriato ui.py L368); the Space uses the same list.
constexpr std::array<std::string_view, 19> kKaomoji = {
    "0_0", "(o)_(o)", "+_+", "+_-", "._.", "<o>_<o>", "<|>_<|>", "=_=", ">_<", "3_3",
    "6_9", ">_o",     "@_@", "^_^", "o_o", "u_u",     "x_x",     "|_|", "||_||"};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool parse_int(std::string_view s, int32_t* out) {
  s = trim(s);
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

bool is_kaomoji(std::string_view name) {
  return std::find(kKaomoji.begin(), kKaomoji.end(), name) != kKaomoji.end();
}

std::string display_name_for(std::string_view csv_name) {
  std::string out(csv_name);
  if (!is_kaomoji(csv_name)) std::replace(out.begin(), out.end(), '_', ' ');
  return out;
}

StatusOr<TagList> TagList::parse(std::string_view text, std::string_view source) {
  CsvReader reader(text);
  std::vector<std::string> fields;
  size_t name_col = 1, category_col = 2;
  bool first = true;
  TagList list;
  while (true) {
    auto got = reader.next(&fields);
    if (!got.ok()) return Status::invalid_argument("{}: {}", source, got.status().message());
    if (!*got) break;
    const size_t line = reader.record_line();
    if (first) {
      first = false;
      // A header is a first row whose category cell is not a number; its names pick the columns.
      int32_t ignored;
      bool looks_numeric = fields.size() > category_col && parse_int(fields[category_col], &ignored);
      if (!looks_numeric) {
        auto find = [&](std::string_view want) -> size_t {
          for (size_t i = 0; i < fields.size(); ++i) {
            if (trim(fields[i]) == want) return i;
          }
          return fields.size();
        };
        name_col = find("name");
        category_col = find("category");
        if (name_col == fields.size() || category_col == fields.size()) {
          return Status::invalid_argument(
              "{}: line {}: header has no 'name' and 'category' columns (expected "
              "tag_id,name,category,count)",
              source, line);
        }
        continue;
      }
    }
    size_t need = std::max(name_col, category_col) + 1;
    if (fields.size() < need) {
      return Status::invalid_argument("{}: line {}: expected at least {} fields, found {}", source, line,
                                      need, fields.size());
    }
    TagEntry e;
    e.name = fields[name_col];
    if (e.name.empty()) return Status::invalid_argument("{}: line {}: empty tag name", source, line);
    if (!parse_int(fields[category_col], &e.category)) {
      return Status::invalid_argument("{}: line {}: category '{}' is not an integer", source, line,
                                      fields[category_col]);
    }
    e.display_name = display_name_for(e.name);
    const auto index = static_cast<uint32_t>(list.entries_.size());
    switch (static_cast<TagCategory>(e.category)) {
      case TagCategory::kRating: list.rating_.push_back(index); break;
      case TagCategory::kGeneral: list.general_.push_back(index); break;
      case TagCategory::kCharacter: list.character_.push_back(index); break;
      default: break;  // kept for index alignment, never emitted
    }
    list.entries_.push_back(std::move(e));
  }
  if (list.entries_.empty()) return Status::invalid_argument("{}: no tags", source);
  return list;
}

StatusOr<TagList> TagList::load(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::not_found("cannot open tag list {}", path.string());
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return Status::internal("error reading {}", path.string());
  return parse(buf.str(), path.string());
}

Status TagList::check_class_count(int64_t model_classes) const {
  if (model_classes != static_cast<int64_t>(entries_.size())) {
    return Status::invalid_argument(
        "the model outputs {} classes but the tag list has {} rows (wrong selected_tags.csv?)",
        model_classes, entries_.size());
  }
  return {};
}

}  // namespace seer
