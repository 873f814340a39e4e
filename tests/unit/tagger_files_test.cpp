// Tagger file handling: content hash (vs libxxhash), sidecars, file discovery, JSONL records.
#include "test_util/temp_dir.h"
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/tag_record_json.h"
#include "models/batch/content_hash.h"
#include "models/batch/image_file_walker.h"
#include "models/batch/sidecar_writer.h"
#include "models/tagger/tag_list.h"
#include "models/tagger/tag_postprocess.h"

namespace seer {
namespace {

namespace fs = std::filesystem;
const std::string kFixtures = std::string(SEER_SOURCE_DIR) + "/tests/fixtures/tagger/";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void spit(const fs::path& p, std::string_view content) {
  std::ofstream out(p, std::ios::binary);
  out << content;
}

// Every TempDir in this file is named seer-tagger-XXXXXX.
class TempDir : public test::TempDir {
 public:
  TempDir() : test::TempDir("seer-tagger") {}
};

std::vector<uint8_t> hash_data(size_t n) {
  std::vector<uint8_t> d(n);
  for (size_t i = 0; i < n; ++i) d[i] = static_cast<uint8_t>((i * 2654435761ULL & 0xFFFFFFFFULL) >> 24);
  return d;
}

TEST(TaggerContentHash, MatchesLibxxhashVectorsWholeAndStreamed) {
  auto doc = nlohmann::json::parse(slurp(kFixtures + "xxh64_vectors.json"));
  size_t n_checked = 0;
  for (const auto& v : doc.at("vectors")) {
    std::vector<uint8_t> data;
    if (v.contains("text")) {
      std::string t = v.at("text");
      data.assign(t.begin(), t.end());
    } else {
      data = hash_data(v.at("length").get<size_t>());
    }
    const uint64_t seed = v.at("seed").get<uint64_t>();
    const std::string want = v.at("xxh64");
    EXPECT_EQ(to_hex64(xxh64(data, seed)), want) << "length " << data.size() << " seed " << seed;
    for (size_t chunk : {1, 5, 31, 33}) {  // every split across the 32-byte stripe buffer
      Xxh64 h(seed);
      for (size_t at = 0; at < data.size(); at += chunk) {
        h.update(std::span(data).subspan(at, std::min(chunk, data.size() - at)));
      }
      EXPECT_EQ(to_hex64(h.digest()), want) << "length " << data.size() << " chunk " << chunk;
    }
    ++n_checked;
  }
  EXPECT_GE(n_checked, 39u);
}

TEST(TaggerContentHash, HashFileEqualsHashOfBytes) {
  TempDir dir;
  auto data = hash_data(3 * (1 << 20) + 17);  // spans several 1 MiB reads
  spit(dir.path() / "x.bin", std::string_view(reinterpret_cast<char*>(data.data()), data.size()));
  auto h = hash_file(dir.path() / "x.bin");
  ASSERT_TRUE(h.ok()) << h.status().to_string();
  EXPECT_EQ(*h, xxh64(data));
  EXPECT_EQ(hash_file(dir.path() / "missing").status().code(), StatusCode::kNotFound);
}

TEST(TaggerSidecar, PathReplacesTheLastExtension) {
  EXPECT_EQ(sidecar_path("/p/cat.jpg"), fs::path("/p/cat.txt"));
  EXPECT_EQ(sidecar_path("/p/a.b.PNG"), fs::path("/p/a.b.txt"));
  EXPECT_EQ(sidecar_path("/p/cat.jpg", ".caption"), fs::path("/p/cat.caption"));
}

TEST(TaggerSidecar, MergeAddsOnlyMissingTagsAndKeepsCommaNames) {
  std::vector<std::string> tags = {"1girl", "ribbon \\(cloth\\)", "name,with,commas", "Solo", "new"};
  EXPECT_EQ(merge_caption("solo, ribbon_(cloth), my own tag\n", tags),
            "solo, ribbon_(cloth), my own tag, 1girl, name,with,commas, new");
  // "with" alone is in the file, but not as a whole item: it does not hide name,with,commas.
  EXPECT_EQ(merge_caption("with,1girl", tags), "with,1girl, ribbon \\(cloth\\), name,with,commas, Solo, new");
  EXPECT_EQ(merge_caption("", tags), "1girl, ribbon \\(cloth\\), name,with,commas, Solo, new");
  const std::string once = merge_caption("x", tags);
  EXPECT_EQ(merge_caption(once, tags), once);  // idempotent: a resumed append adds nothing
}

TEST(TaggerSidecar, ModesSkipOverwriteAppendAtomically) {
  TempDir dir;
  const fs::path img = dir.path() / "cat.jpg";
  const fs::path txt = dir.path() / "cat.txt";
  SidecarOptions skip{.mode = SidecarMode::kSkipExisting, .extension = ".txt", .fsync = true};
  std::vector<std::string> a = {"1girl", "solo"}, b = {"solo", "smile"};

  auto o = write_sidecar(img, a, skip);
  ASSERT_TRUE(o.ok()) << o.status().to_string();
  EXPECT_EQ(*o, SidecarOutcome::kWritten);
  EXPECT_EQ(slurp(txt), "1girl, solo\n");
  EXPECT_EQ(*write_sidecar(img, b, skip), SidecarOutcome::kSkipped);
  EXPECT_EQ(slurp(txt), "1girl, solo\n");

  SidecarOptions over = skip;
  over.mode = SidecarMode::kOverwrite;
  EXPECT_EQ(*write_sidecar(img, b, over), SidecarOutcome::kWritten);
  EXPECT_EQ(slurp(txt), "solo, smile\n");

  SidecarOptions app = skip;
  app.mode = SidecarMode::kAppend;
  EXPECT_EQ(*write_sidecar(img, a, app), SidecarOutcome::kAppended);
  EXPECT_EQ(slurp(txt), "solo, smile, 1girl\n");
  EXPECT_EQ(*write_sidecar(img, a, app), SidecarOutcome::kUnchanged);
  EXPECT_EQ(*write_sidecar(dir.path() / "dog.png", a, app), SidecarOutcome::kWritten);
  EXPECT_EQ(slurp(dir.path() / "dog.txt"), "1girl, solo\n");

  // No temporary file is left behind.
  for (const auto& e : fs::directory_iterator(dir.path())) {
    EXPECT_EQ(e.path().filename().string().find(".seer-tmp"), std::string::npos) << e.path();
  }
  // An unwritable folder is an error, not a crash (skipped when running as root).
  if (::geteuid() != 0) {
    fs::create_directory(dir.path() / "ro");
    ::chmod((dir.path() / "ro").c_str(), 0555);
    EXPECT_FALSE(write_sidecar(dir.path() / "ro" / "x.jpg", a, over).ok());
  }
  EXPECT_FALSE(write_sidecar(dir.path() / "missing-dir" / "x.jpg", a, over).ok());
}

std::vector<std::string> walk(const std::vector<fs::path>& roots, WalkOptions opt,
                              const fs::path& base, size_t* errors = nullptr) {
  ImageFileWalker w(roots, opt);
  std::vector<std::string> out;
  while (auto f = w.next()) {
    if (!f->error.ok()) {
      if (errors) ++*errors;
      continue;
    }
    out.push_back(f->path.lexically_relative(base).string());
    EXPECT_EQ(f->size, fs::file_size(f->path)) << f->path;
    EXPECT_GT(f->mtime_ns, 0) << f->path;
  }
  return out;
}

TEST(TaggerFileWalk, ExtensionsOrderRecursionSymlinksOnce) {
  TempDir dir;
  const fs::path r = dir.path() / "root";
  fs::create_directories(r / "b_sub" / "deeper");
  fs::create_directories(r / ".thumbnails");
  for (const char* f : {"c.JPG", "a.png", "notes.txt", "Z.webp", "x.tiff", "y.JXL", "b_sub/k.gif",
                        "b_sub/deeper/m.bmp", ".hidden.png", ".thumbnails/t.jpg", "a.png.txt",
                        "noext", "b_sub.avif"}) {
    spit(r / f, f);
  }
  fs::create_directory_symlink(r, r / "b_sub" / "loop");           // a cycle
  fs::create_symlink(r / "a.png", r / "b_sub" / "alias.png");       // same file twice
  fs::create_symlink(r / "gone.png", r / "dangling.jpg");           // dangling image link
  fs::create_directories(dir.path() / "outside");
  spit(dir.path() / "outside" / "o.heic", "o");
  fs::create_directory_symlink(dir.path() / "outside", r / "linked"); // followed once

  size_t errors = 0;
  auto flat = walk({r}, {.recursive = false}, dir.path(), &errors);
  EXPECT_EQ(flat, (std::vector<std::string>{"root/Z.webp", "root/a.png", "root/b_sub.avif",
                                            "root/c.JPG", "root/x.tiff", "root/y.JXL"}));
  EXPECT_EQ(errors, 1u);  // dangling.jpg

  errors = 0;
  auto deep = walk({r}, {.recursive = true}, dir.path(), &errors);
  EXPECT_EQ(deep, (std::vector<std::string>{
                      "root/Z.webp", "root/a.png", "root/b_sub/deeper/m.bmp", "root/b_sub/k.gif",
                      "root/b_sub.avif", "root/c.JPG", "root/linked/o.heic", "root/x.tiff",
                      "root/y.JXL"}));
  EXPECT_EQ(errors, 1u);

  // An explicit file root is kept whatever its extension; a missing root is an error entry;
  // a file already reached through a folder is not repeated.
  errors = 0;
  auto mixed = walk({r / "notes.txt", r / "missing.png", r, r / "a.png"}, {.recursive = false},
                    dir.path(), &errors);
  EXPECT_EQ(mixed.front(), "root/notes.txt");
  EXPECT_EQ(mixed.size(), 7u);
  EXPECT_EQ(errors, 2u);  // missing.png, dangling.jpg

  auto hidden = walk({r}, {.recursive = true, .include_hidden = true}, dir.path());
  EXPECT_NE(std::find(hidden.begin(), hidden.end(), "root/.thumbnails/t.jpg"), hidden.end());
  EXPECT_NE(std::find(hidden.begin(), hidden.end(), "root/.hidden.png"), hidden.end());
}

TEST(TaggerFileWalk, KnownImageExtensionsCaseInsensitive) {
  for (const char* p : {"a.jpg", "a.JPEG", "a.Png", "a.webp", "a.gif", "a.bmp", "a.tif", "a.TIFF",
                        "a.heic", "a.heif", "a.avif", "a.jxl", "a.jpe"}) {
    EXPECT_TRUE(has_image_extension(p)) << p;
  }
  for (const char* p : {"a.txt", "a", ".jpg", "a.jpg.txt", "a.svg", "a.psd"}) {
    EXPECT_FALSE(has_image_extension(p)) << p;
  }
}

TEST(TaggerRecordJson, MatchesPythonReferenceRecords) {
  auto list = TagList::load(kFixtures + "tags.csv");
  ASSERT_TRUE(list.ok());
  auto cases = nlohmann::json::parse(slurp(kFixtures + "postprocess_cases.json"));
  std::istringstream expected(slurp(kFixtures + "records.jsonl"));
  std::string line;
  size_t i = 0;
  while (std::getline(expected, line)) {
    auto want = nlohmann::ordered_json::parse(line);
    std::vector<float> probs;
    for (const auto& x : cases.at("vectors")[i]) probs.push_back(static_cast<float>(x.get<double>()));
    auto r = postprocess_tags(probs, *list, TagOptions{});
    ASSERT_TRUE(r.ok());
    const std::string got_text = cli::tag_record_json(want.at("path").get<std::string>(), *r);
    EXPECT_EQ(got_text.find('\n'), std::string::npos);
    auto got = nlohmann::ordered_json::parse(got_text);
    EXPECT_EQ(got, want) << "record " << i;  // same keys in the same order, same doubles
    ++i;
  }
  EXPECT_EQ(i, 16u);

  auto err = nlohmann::ordered_json::parse(cli::tag_error_json("x/\"y\".jpg", "InvalidArgument: not an image"));
  EXPECT_EQ(err.dump(), R"({"path":"x/\"y\".jpg","error":"InvalidArgument: not an image"})");
  // Invalid UTF-8 in a path does not throw.
  EXPECT_NE(cli::tag_error_json("bad\xff.jpg", "e").find("bad"), std::string::npos);
}

TEST(TaggerRecordJson, ScoresRoundTripToTheSameFloat) {
  TagResult r;
  r.ratings = {{"general", 0.35f}, {"sensitive", 1e-7f}, {"questionable", 0.999999940f},
               {"explicit", 0.0f}};
  r.general = {{"a", std::nextafter(0.35f, 1.0f)}};
  auto j = nlohmann::json::parse(cli::tag_record_json("p", r));
  EXPECT_EQ(static_cast<float>(j["rating"]["general"].get<double>()), 0.35f);
  EXPECT_EQ(j["rating"]["general"].get<double>(), static_cast<double>(0.35f));
  EXPECT_EQ(static_cast<float>(j["rating"]["sensitive"].get<double>()), 1e-7f);
  EXPECT_EQ(static_cast<float>(j["rating"]["questionable"].get<double>()), 0.999999940f);
  EXPECT_EQ(static_cast<float>(j["general"][0]["score"].get<double>()), std::nextafter(0.35f, 1.0f));
}

}  // namespace
}  // namespace seer
