#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "runtime/model_catalog.h"
#include "runtime/testing/fake_backend.h"
#include "runtime_test_util.h"

namespace seer {
namespace {

using testing::TempModelsDir;

ModelFamilyRegistry families_with_fake() {
  ModelFamilyRegistry r = default_family_registry();
  r.add(fake_family(ModelKind::kVlm, FakeSpec{}, std::make_shared<FakeStats>()));
  return r;
}

TEST(RuntimeCatalog, DiscoversTaggerClassifierAndHfSnapshotWithRelativeIds) {
  TempModelsDir dir;
  dir.write("wd-vit-tagger-v3/model.onnx", "onnx");
  dir.write("wd-vit-tagger-v3/selected_tags.csv", "tag_id,name,category,count\n");
  dir.write("nsfw/model.onnx", "x");
  dir.write("nsfw/config.json", R"({"id2label": {"0": "normal", "1": "nsfw"}})");
  dir.write("nsfw/preprocessor_config.json", R"({"size": {"height": 224, "width": 224}})");
  dir.write("incomplete/model.onnx", "x");  // no labels: not a model
  dir.write("models--SmilingWolf--wd-eva02/snapshots/abc123/model.onnx", "0123456789");
  dir.write("models--SmilingWolf--wd-eva02/snapshots/abc123/selected_tags.csv", "a");
  dir.write("models--SmilingWolf--wd-eva02/refs/main", "abc123");
  dir.write(".hidden/model.onnx", "x");
  dir.write(".hidden/selected_tags.csv", "x");
  ModelFamilyRegistry fams = default_family_registry();
  auto cat = ModelCatalog::open(testing::catalog_options(dir.models()), fams);
  ASSERT_TRUE(cat.ok()) << cat.status().to_string();
  auto list = (*cat)->list();
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].id, "models--SmilingWolf--wd-eva02/snapshots/abc123");
  EXPECT_EQ(list[0].alias, "SmilingWolf/wd-eva02");
  EXPECT_EQ(list[0].kind, ModelKind::kTagger);
  EXPECT_EQ(list[0].size_bytes, 11u);
  EXPECT_EQ(list[1].id, "nsfw");
  EXPECT_EQ(list[1].kind, ModelKind::kClassifier);
  EXPECT_EQ(list[2].id, "wd-vit-tagger-v3");
  EXPECT_EQ(list[2].size_bytes, 4u + 27u);
  ASSERT_TRUE((*cat)->find("SmilingWolf/wd-eva02").has_value());
  EXPECT_EQ((*cat)->find("SmilingWolf/wd-eva02")->id, list[0].id);
}

TEST(RuntimeCatalog, IdsArePathsOnlyWhenTheCatalogHoldsThem) {
  TempModelsDir dir;
  dir.add_fake("a");
  auto fams = families_with_fake();
  auto cat = ModelCatalog::open(testing::catalog_options(dir.models()), fams);
  ASSERT_TRUE(cat.ok());
  EXPECT_TRUE((*cat)->find("a").has_value());
  // Paths that exist on disk but are not catalog ids are unknown.
  EXPECT_FALSE((*cat)->find("../models/a").has_value());
  EXPECT_FALSE((*cat)->find(dir.models().string() + "/a").has_value());
  EXPECT_FALSE((*cat)->find("/etc").has_value());
  EXPECT_FALSE((*cat)->find("a/fake.model").has_value());
}

TEST(RuntimeCatalog, ThousandListCallsCauseNoRescan) {
  TempModelsDir dir;
  for (int i = 0; i < 5; ++i) dir.add_fake("m" + std::to_string(i));
  auto fams = families_with_fake();
  auto cat = ModelCatalog::open(testing::catalog_options(dir.models()), fams);
  ASSERT_TRUE(cat.ok());
  const uint64_t scans = (*cat)->scan_count();
  EXPECT_EQ(scans, 1u);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ((*cat)->list().size(), 5u);
  EXPECT_EQ((*cat)->scan_count(), scans);
}

TEST(RuntimeCatalog, NewFolderAppearsAfterInotifyWithoutRefresh) {
  TempModelsDir dir;
  dir.add_fake("first");
  auto fams = families_with_fake();
  auto cat = ModelCatalog::open(testing::catalog_options(dir.models()), fams);
  ASSERT_TRUE(cat.ok());
  ASSERT_EQ((*cat)->list().size(), 1u);
  dir.add_fake("nested/second");  // a new folder two levels down
  // inotify events are queued synchronously by the kernel when the calls above return.
  auto list = (*cat)->list();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[1].id, "nested/second");
  EXPECT_EQ((*cat)->scan_count(), 2u);
  // And a removal disappears.
  std::filesystem::remove_all(dir.models() / "first");
  EXPECT_EQ((*cat)->list().size(), 1u);
}

TEST(RuntimeCatalog, RestartUsesThePersistedScanUnlessTheTreeChanged) {
  TempModelsDir dir;
  dir.add_fake("a");
  dir.add_fake("group/b");
  auto fams = families_with_fake();
  CatalogOptions opt = testing::catalog_options(dir.models(), dir.cache_file());
  {
    auto cat = ModelCatalog::open(opt, fams);
    ASSERT_TRUE(cat.ok());
    EXPECT_FALSE((*cat)->opened_from_cache());
    EXPECT_EQ((*cat)->scan_count(), 1u);
  }
  {
    auto cat = ModelCatalog::open(opt, fams);
    ASSERT_TRUE(cat.ok());
    EXPECT_TRUE((*cat)->opened_from_cache());
    EXPECT_EQ((*cat)->scan_count(), 0u);
    auto list = (*cat)->list();
    ASSERT_EQ(list.size(), 2u);
    EXPECT_EQ(list[1].id, "group/b");
    EXPECT_EQ(list[1].path, dir.models() / "group/b");
  }
  // A folder added while no server ran changes its parent's mtime: the next open rescans.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  dir.add_fake("group/c");
  {
    auto cat = ModelCatalog::open(opt, fams);
    ASSERT_TRUE(cat.ok());
    EXPECT_FALSE((*cat)->opened_from_cache());
    EXPECT_EQ((*cat)->list().size(), 3u);
  }
}

TEST(RuntimeCatalog, RefreshForcesARescan) {
  TempModelsDir dir;
  dir.add_fake("a");
  auto fams = families_with_fake();
  auto cat = ModelCatalog::open(testing::catalog_options(dir.models(), "-", false), fams);
  ASSERT_TRUE(cat.ok());
  dir.add_fake("b");
  EXPECT_EQ((*cat)->list().size(), 1u);  // no inotify: unseen until a refresh
  ASSERT_TRUE((*cat)->refresh().ok());
  EXPECT_EQ((*cat)->list().size(), 2u);
  EXPECT_EQ((*cat)->scan_count(), 2u);
}

}  // namespace
}  // namespace seer
