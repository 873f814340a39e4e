// WD14 tag list parsing and post-processing, checked against tools/wd14_reference.py (an
// independent Python implementation of the SmilingWolf Space's semantics).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "models/tagger/csv_reader.h"
#include "models/tagger/tag_list.h"
#include "models/tagger/tag_postprocess.h"

namespace seer {
namespace {

const std::string kFixtures = std::string(SEER_SOURCE_DIR) + "/tests/fixtures/tagger/";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(TaggerCsv, QuotedFieldsEscapesCommasNewlinesAndCrlf) {
  CsvReader r("a,\"b,c\",\"d\"\"e\"\r\n\"multi\nline\",x\\y,\"\"\n\n  last ,\"q\"");
  std::vector<std::string> f;
  ASSERT_TRUE(*r.next(&f));
  EXPECT_EQ(f, (std::vector<std::string>{"a", "b,c", "d\"e"}));
  EXPECT_EQ(r.record_line(), 1u);
  ASSERT_TRUE(*r.next(&f));
  EXPECT_EQ(f, (std::vector<std::string>{"multi\nline", "x\\y", ""}));
  EXPECT_EQ(r.record_line(), 2u);
  ASSERT_TRUE(*r.next(&f));
  EXPECT_EQ(f, (std::vector<std::string>{"  last ", "q"}));
  EXPECT_EQ(r.record_line(), 5u);
  EXPECT_FALSE(*r.next(&f));
}

TEST(TaggerCsv, LiteralQuoteInsideUnquotedFieldAndTrailingEmptyField) {
  CsvReader r("1,don't_say_\"lazy\",0,\n");
  std::vector<std::string> f;
  ASSERT_TRUE(*r.next(&f));
  EXPECT_EQ(f, (std::vector<std::string>{"1", "don't_say_\"lazy\"", "0", ""}));
}

TEST(TaggerCsv, MalformedInputNamesTheLine) {
  std::vector<std::string> f;
  CsvReader unterminated("a,b\nc,\"open\nstill open");
  ASSERT_TRUE(*unterminated.next(&f));
  auto s = unterminated.next(&f);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find("line 2"), std::string::npos) << s.status().message();

  CsvReader junk("x\n\"ab\"c,1\n");
  ASSERT_TRUE(*junk.next(&f));
  auto j = junk.next(&f);
  ASSERT_FALSE(j.ok());
  EXPECT_NE(j.status().message().find("line 2"), std::string::npos) << j.status().message();
}

TEST(TaggerTagList, CategoriesFromTheColumnNotRowRanges) {
  auto list = TagList::parse(
      "tag_id,name,category,count\n"
      "1,general,9,10\n2,1girl,0,9\n3,\"don't_say_\"\"lazy\"\"\",0,8\n4,some_series,3,7\n"
      "5,explicit,9,6\n6,hatsune_miku,4,5\n7,^_^,0,4\n8,\"a,b\",4,3\n");
  ASSERT_TRUE(list.ok()) << list.status().to_string();
  EXPECT_EQ(list->size(), 8u);
  EXPECT_EQ(list->rating_indices(), (std::vector<uint32_t>{0, 4}));
  EXPECT_EQ(list->general_indices(), (std::vector<uint32_t>{1, 2, 6}));
  EXPECT_EQ(list->character_indices(), (std::vector<uint32_t>{5, 7}));
  EXPECT_EQ(list->entry(2).name, "don't_say_\"lazy\"");
  EXPECT_EQ(list->entry(2).display_name, "don't say \"lazy\"");
  EXPECT_EQ(list->entry(6).display_name, "^_^");  // kaomoji keeps its underscore
  EXPECT_EQ(list->entry(7).name, "a,b");
  EXPECT_EQ(list->entry(3).category, 3);
  EXPECT_TRUE(list->check_class_count(8).ok());
  Status bad = list->check_class_count(10861);
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.message().find("10861"), std::string::npos);
}

TEST(TaggerTagList, HeaderColumnsByNameAndHeaderless) {
  auto reordered = TagList::parse("category,count,name\n9,1,general\n0,2,long_hair\n");
  ASSERT_TRUE(reordered.ok()) << reordered.status().to_string();
  EXPECT_EQ(reordered->entry(1).display_name, "long hair");
  EXPECT_EQ(reordered->general_indices(), (std::vector<uint32_t>{1}));
  auto headerless = TagList::parse("1,general,9,1\r\n2,solo,0,1\r\n");
  ASSERT_TRUE(headerless.ok()) << headerless.status().to_string();
  EXPECT_EQ(headerless->size(), 2u);
  EXPECT_EQ(headerless->rating_indices(), (std::vector<uint32_t>{0}));
}

TEST(TaggerTagList, ErrorsCarryFileAndLine) {
  auto not_int = TagList::parse("tag_id,name,category,count\n1,a,0,1\n2,b,zero,1\n", "x.csv");
  ASSERT_FALSE(not_int.ok());
  EXPECT_EQ(not_int.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(not_int.status().message().find("x.csv: line 3"), std::string::npos)
      << not_int.status().message();
  auto short_row = TagList::parse("tag_id,name,category,count\n1,a\n", "x.csv");
  ASSERT_FALSE(short_row.ok());
  EXPECT_NE(short_row.status().message().find("line 2"), std::string::npos);
  auto empty_name = TagList::parse("tag_id,name,category,count\n1,,0,1\n");
  EXPECT_FALSE(empty_name.ok());
  auto no_cols = TagList::parse("id,label,kind\n1,a,0\n");
  EXPECT_FALSE(no_cols.ok());
  EXPECT_FALSE(TagList::parse("").ok());
  auto missing = TagList::load("/nonexistent/selected_tags.csv");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST(TaggerPostprocess, McutMatchesTheSpaceFormula) {
  std::vector<double> p = {0.1, 0.9, 0.8, 0.2};  // sorted 0.9 0.8 0.2 0.1: gap 0.6 at 0.8|0.2
  EXPECT_DOUBLE_EQ(mcut_threshold(p), 0.5);
  std::vector<double> ties = {0.875, 0.625, 0.375, 0.125};  // equal gaps: the first wins
  EXPECT_DOUBLE_EQ(mcut_threshold(ties), 0.75);
}

TEST(TaggerPostprocess, ProbabilitiesAreNotSigmoidedAndComparedStrictlyAsDoubles) {
  auto list = TagList::parse("tag_id,name,category,count\n1,general,9,1\n2,a_b,0,1\n3,c,0,1\n");
  ASSERT_TRUE(list.ok());
  // 0.35f is 0.3499999940... < 0.35: dropped; the next float up is kept. A sigmoid would keep both.
  std::vector<float> probs = {0.5f, 0.35f, std::nextafter(0.35f, 1.0f)};
  auto r = postprocess_tags(probs, *list, TagOptions{});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->general.size(), 1u);
  EXPECT_EQ(r->general[0].tag, "c");
  EXPECT_EQ(r->general[0].score, std::nextafter(0.35f, 1.0f));
  EXPECT_EQ(r->text, "c");
  std::vector<float> wrong_width = {0.5f, 0.2f};
  EXPECT_EQ(postprocess_tags(wrong_width, *list, TagOptions{}).status().code(),
            StatusCode::kInvalidArgument);
}

TextPlacement placement(const std::string& s) {
  if (s == "first") return TextPlacement::kFirst;
  if (s == "last") return TextPlacement::kLast;
  EXPECT_EQ(s, "omit");
  return TextPlacement::kOmit;
}

TagOptions options_from_json(const nlohmann::json& j) {
  TagOptions o;
  o.general_threshold = j.at("general_threshold").get<double>();
  o.character_threshold = j.at("character_threshold").get<double>();
  o.general_mcut = j.at("general_mcut").get<bool>();
  o.character_mcut = j.at("character_mcut").get<bool>();
  o.characters_in_text = placement(j.at("characters_in_text").get<std::string>());
  o.rating_in_text = placement(j.at("rating_in_text").get<std::string>());
  o.replace_underscores = j.at("replace_underscores").get<bool>();
  o.escape_parentheses = j.at("escape_parentheses").get<bool>();
  o.exclude = j.at("exclude").get<std::vector<std::string>>();
  return o;
}

void expect_tags_eq(const std::vector<ScoredTag>& got, const nlohmann::json& want,
                    const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].tag, want[i][0].get<std::string>()) << what << " #" << i;
    // The reference holds float(np.float32): the exact value, so equality is exact.
    EXPECT_EQ(static_cast<double>(got[i].score), want[i][1].get<double>()) << what << " #" << i;
  }
}

TEST(TaggerPostprocess, MatchesIndependentPythonReferenceOnEveryCase) {
  auto list = TagList::load(kFixtures + "tags.csv");
  ASSERT_TRUE(list.ok()) << list.status().to_string();
  auto doc = nlohmann::json::parse(read_file(kFixtures + "postprocess_cases.json"));
  std::vector<TagOptions> options;
  for (const auto& o : doc.at("options")) options.push_back(options_from_json(o));
  std::vector<std::vector<float>> vectors;
  for (const auto& v : doc.at("vectors")) {
    std::vector<float> row;
    for (const auto& x : v) row.push_back(static_cast<float>(x.get<double>()));
    ASSERT_EQ(row.size(), list->size());
    vectors.push_back(std::move(row));
  }
  size_t checked = 0, nonempty = 0;
  for (const auto& c : doc.at("cases")) {
    const size_t vi = c.at("vector").get<size_t>(), oi = c.at("options").get<size_t>();
    const std::string what = "vector " + std::to_string(vi) + " options " + std::to_string(oi);
    auto r = postprocess_tags(vectors[vi], *list, options[oi]);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    const auto& want = c.at("expected");
    expect_tags_eq(r->ratings, want.at("ratings"), what + " ratings");
    expect_tags_eq(r->general, want.at("general"), what + " general");
    expect_tags_eq(r->character, want.at("character"), what + " character");
    EXPECT_EQ(r->text, want.at("text").get<std::string>()) << what;
    ++checked;
    nonempty += !r->general.empty() && !r->character.empty();
  }
  EXPECT_EQ(checked, 160u);
  EXPECT_GT(nonempty, 40u);  // the fixture exercises both blocks, not just empty results
}

}  // namespace
}  // namespace seer
